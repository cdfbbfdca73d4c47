package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/goodwillhq/goodwill/cmd/goodwill/internal/importer"
	"github.com/goodwillhq/goodwill/service/client"
)

// syncOptions are goodwill sync's flags.
type syncOptions struct {
	URL, Key string
	Vendor   string
	Since    string
	Resume   string
	Poll     time.Duration
	// Terminal shows a progress bar on Log instead of progress lines.
	Terminal bool
	Out, Log io.Writer
}

const syncExample = `  # Bring in Lever's history since the start of 2025, following it with a progress bar:
  GOODWILL_URL=https://goodwill.example.com GOODWILL_KEY=gw_… goodwill sync --vendor lever --since 2025-01-01

  # Follow a backfill again (after Ctrl-C, or from another machine):
  goodwill sync --vendor lever --resume 0193c4a8-5f2e-7c41-9a6e-2b3c4d5e6f70`

func newSync() *cobra.Command {
	o := syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync --vendor VENDOR --since DATE",
		Short: "Bring an ATS's history into a running service (first connect) and follow it",
		Long: `sync asks the running service to backfill a configured ATS vendor (lever, greenhouse,
ashby, workable) from DATE — a date (2025-01-01) or an RFC 3339 time — and follows the
backfill until it ends: a progress bar on a terminal, progress lines otherwise. The
backfill runs in the service, at the vendor's rate limit, and survives restarts: Ctrl-C
only stops following it, and --resume ID follows it again. If a backfill of the vendor
is already running, sync follows that one. It needs an admin key.

Exit status: 0 when the backfill is done, 1 when it failed or was canceled, or on error.`,
		Example: syncExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("url") {
				if u := os.Getenv("GOODWILL_URL"); u != "" {
					o.URL = u
				}
			}
			if !cmd.Flags().Changed("key") {
				o.Key = os.Getenv("GOODWILL_KEY")
			}
			o.Out, o.Log = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if f, ok := o.Log.(*os.File); ok {
				if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
					o.Terminal = true
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runSync(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", importer.DefaultURL, "base URL of the running service ($GOODWILL_URL)")
	f.StringVar(&o.Key, "key", "", "admin API key ($GOODWILL_KEY; prefer the variable: flags show in process lists)")
	f.StringVar(&o.Vendor, "vendor", "", "the ATS: lever, greenhouse, ashby or workable")
	f.StringVar(&o.Since, "since", "", "where the history starts: a date (2025-01-01) or an RFC 3339 time")
	f.StringVar(&o.Resume, "resume", "", "follow the running backfill with this id instead of starting one")
	f.DurationVar(&o.Poll, "poll", time.Second, "how often to ask how far the backfill is")
	_ = f.MarkHidden("poll")
	return cmd
}

// errBackfillEnded is a backfill that ended failed or canceled.
var errBackfillEnded = errors.New("the backfill did not complete")

// runSync starts (or resumes) the backfill and follows it to its end.
func runSync(ctx context.Context, o syncOptions) error {
	if o.Vendor == "" {
		return errors.New("--vendor is required (lever, greenhouse, ashby or workable)")
	}
	if (o.Since == "") == (o.Resume == "") {
		return errors.New("give --since DATE to start a backfill, or --resume ID to follow one")
	}
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want the service's base URL, like %s", o.URL, importer.DefaultURL)
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	c := client.New(o.URL, o.Key, nil)
	c.UserAgent = "goodwill-sync/" + version
	id := o.Resume
	if id == "" {
		var err error
		id, err = c.StartBackfill(ctx, o.Vendor, o.Since)
		if running, ok := client.RunningBackfill(err); ok {
			fmt.Fprintf(o.Log, "a backfill of %s is already running (%s): following it\n", o.Vendor, running)
			id, err = running, nil
		}
		if err != nil {
			return fmt.Errorf("start the backfill: %w", err)
		}
	}
	fmt.Fprintf(o.Log, "%s backfill %s (follow it again with: goodwill sync --vendor %s --resume %s)\n", o.Vendor, id, o.Vendor, id)
	b, err := follow(ctx, c, o, id)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped following; the backfill goes on in the service: goodwill sync --vendor %s --resume %s", o.Vendor, id)
		}
		return err
	}
	took := ""
	if b.StartedAt != nil && b.FinishedAt != nil {
		s, err1 := time.Parse(time.RFC3339Nano, *b.StartedAt)
		f, err2 := time.Parse(time.RFC3339Nano, *b.FinishedAt)
		if err1 == nil && err2 == nil {
			took = " in " + f.Sub(s).Round(time.Second).String()
		}
	}
	fmt.Fprintf(o.Out, "%s backfill %s %s%s: %d pages, %d applications, %d events since %s\n",
		o.Vendor, b.ID, b.State, took, b.Pages, b.Applications, b.Events, b.Since)
	switch b.State {
	case "done":
		return nil
	case "failed":
		msg := ""
		if b.Error != nil {
			msg = ": " + *b.Error
		}
		return fmt.Errorf("%w: it failed%s", errBackfillEnded, msg)
	}
	return fmt.Errorf("%w: it was %s", errBackfillEnded, b.State)
}

// maxUnanswered is how long follow keeps asking a service that does not answer (a
// restart, say) before it gives up.
const maxUnanswered = 5 * time.Minute

// follow asks how far the backfill is every o.Poll until it ends, showing progress.
func follow(ctx context.Context, c *client.Client, o syncOptions, id string) (client.Backfill, error) {
	p := newSyncProgress(o)
	defer p.close()
	var failingSince time.Time
	for {
		b, err := c.Backfill(ctx, o.Vendor, id)
		var apiErr *client.Error
		switch {
		case err == nil:
			failingSince = time.Time{}
			p.update(b)
			if !b.Running() {
				return b, nil
			}
		case ctx.Err() != nil:
			return b, ctx.Err()
		case errors.As(err, &apiErr) && !apiErr.Temporary():
			return b, fmt.Errorf("follow the backfill: %w", err)
		default: // the service restarts or is overloaded: the backfill goes on
			if failingSince.IsZero() {
				failingSince = time.Now()
			} else if time.Since(failingSince) > maxUnanswered {
				return b, fmt.Errorf("follow the backfill: no answer for %s: %w", maxUnanswered, err)
			}
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// syncProgress shows a backfill's progress: a spinner with its counts on a terminal
// (vendors do not say how much history there is), else a line whenever they change.
type syncProgress struct {
	o    syncOptions
	bar  *progressbar.ProgressBar
	last client.Backfill
}

func newSyncProgress(o syncOptions) *syncProgress {
	p := &syncProgress{o: o}
	if o.Terminal {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(o.Log),
			progressbar.OptionSetDescription(o.Vendor+": starting"),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	return p
}

func (p *syncProgress) update(b client.Backfill) {
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%s: %d pages, %d applications, %d events", p.o.Vendor, b.Pages, b.Applications, b.Events))
		_ = p.bar.Set64(b.Pages)
		return
	}
	if b.Pages != p.last.Pages || b.State != p.last.State {
		fmt.Fprintf(p.o.Log, "%s backfill: %s, %d pages, %d applications, %d events\n",
			p.o.Vendor, b.State, b.Pages, b.Applications, b.Events)
	}
	p.last = b
}

// close ends the bar on its own line, so that what follows starts on the next.
func (p *syncProgress) close() {
	if p.bar != nil {
		_ = p.bar.Exit()
		fmt.Fprintln(p.o.Log)
	}
}
