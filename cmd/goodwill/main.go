// Command goodwill keeps recruiting honest with candidates: it logs every
// recruiter–candidate touchpoint, runs SLA clocks on them and alerts before a
// candidate is left waiting.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/goodwillhq/goodwill/service"
)

// version and commit are set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = ""
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "goodwill:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "goodwill",
		Short:         "Keep recruiting honest with candidates: touchpoint log, SLA clocks and alerts",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServe(), newVersion(), newImport(), newHealth(), newDemo(), newSync())
	return root
}

func newServe() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the service (configured by GOODWILL_* environment variables; see docs/configuration.md)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := service.LoadConfig(os.Getenv)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			err = service.Run(ctx, cfg, log, nil)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			if commit != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "goodwill", version, commit)
				return
			}
			fmt.Fprintln(cmd.OutOrStdout(), "goodwill", version)
		},
	}
}
