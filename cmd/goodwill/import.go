package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/goodwillhq/goodwill/cmd/goodwill/internal/importer"
	"github.com/goodwillhq/goodwill/interactions"
)

// exitRejected is goodwill import's exit status when every file was read to its end
// but some lines were rejected.
const exitRejected = 2

func newImport() *cobra.Command {
	o := importer.Options{}
	cmd := &cobra.Command{
		Use:     "import FILE...",
		Short:   "Backfill interactions from JSON Lines or CSV files through the API of a running service",
		Long:    importer.Help,
		Example: importer.Example,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if !cmd.Flags().Changed("url") {
				if u := os.Getenv("GOODWILL_URL"); u != "" {
					o.URL = u
				}
			}
			if !cmd.Flags().Changed("key") {
				o.Key = os.Getenv("GOODWILL_KEY")
			}
			o.Out = cmd.OutOrStdout()
			o.Log = cmd.ErrOrStderr()
			if f, ok := o.Log.(*os.File); ok {
				if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
					o.Terminal = true
				}
			}
			if o.StateDir == "" {
				o.StateDir = importer.DefaultStateDir()
			}
			o.UserAgent = "goodwill-import/" + version
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := importer.Run(ctx, o, files)
			if errors.Is(err, importer.ErrRejected) {
				fmt.Fprintln(o.Log, "goodwill: import: some lines were rejected (listed above); fix them and run the same command again")
				stop()
				os.Exit(exitRejected) // main exits 1 on any error; 2 tells scripts the run completed
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", importer.DefaultURL, "base URL of the running service ($GOODWILL_URL)")
	f.StringVar(&o.Key, "key", "", "API key with the ingest or admin role ($GOODWILL_KEY; prefer the variable: flags show in process lists)")
	f.IntVar(&o.Batch, "batch", importer.DefaultBatch, fmt.Sprintf("interactions per request (1–%d; requests also stay under 1 MiB)", interactions.MaxBatch))
	f.IntVar(&o.InFlight, "in-flight", importer.DefaultInFlight, fmt.Sprintf("batches sent at once (1–%d)", importer.MaxInFlight))
	f.StringVar(&o.Format, "format", "", "jsonl or csv (default: by the file's extension)")
	f.StringVar(&o.StateDir, "state-dir", "", "where resume state is kept (default: goodwill/import in the user cache directory)")
	f.BoolVar(&o.NoResume, "no-resume", false, "ignore saved state and start from the first line")
	return cmd
}
