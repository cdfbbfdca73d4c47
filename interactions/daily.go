package interactions

import (
	"context"
	"log/slog"
	"time"
)

// Daily runs job a minute after it is called and then every 24 hours, until ctx ends:
// expiry is a job here, as the embedded store has no TTL index. what names the job in
// the log ("purge the audit trail"); job returns how many things it handled, logged
// when not zero. A failure is logged and the job runs again the next day.
func Daily(ctx context.Context, log *slog.Logger, what string, job func(context.Context) (int64, error)) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = 24 * time.Hour
		n, err := job(ctx)
		if err != nil {
			log.Warn(what+" failed; next run in 24h", "err", err)
		} else if n > 0 {
			log.Info(what, "count", n)
		}
	}
}
