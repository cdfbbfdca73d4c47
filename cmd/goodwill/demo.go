package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/goodwillhq/goodwill/cmd/goodwill/internal/demo"
)

func newDemo() *cobra.Command {
	var (
		o        demo.Options
		duration time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the service with a simulated ATS: clocks, alerts and scores within a minute",
		Long:  demo.Help,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return demo.Run(ctx, o, os.Getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	f.BoolVar(&o.Keep, "keep", false, "keep the temporary data directory on exit (its path is printed)")
	f.BoolVar(&o.Quiet, "quiet", false, "do not print a line per simulated event")
	f.DurationVar(&duration, "duration", 0, "stop after this long (default: run until Ctrl-C or SIGTERM)")
	return cmd
}
