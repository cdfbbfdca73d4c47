package service

import (
	"context"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/ashby"
)

// ashbySync builds the Ashby sync when GOODWILL_ASHBY_API_KEY is set, else nil. It
// reads Ashby's API through the runner's client, paced at Ashby's documented rate; the
// runner's writer leaves out the events Ashby's webhooks already delivered. The
// applications goodwill holds (Known) name the candidate of interview schedules and
// offers, which Ashby lists by application only.
func (s *Server) ashbySync(apps *interactions.Store) *ashby.Sync {
	cfg := s.cfg.AshbySync
	if !cfg.Enabled() {
		return nil
	}
	v, err := ashby.NewVendor(ashby.Config{APIKey: cfg.APIKey, APIURL: cfg.APIURL}, s.now)
	if err != nil {
		s.log.Error("the Ashby sync is off: its configuration is refused", "err", err)
		return nil
	}
	v.Known = func(ctx context.Context, id string) ([]interactions.Interaction, error) {
		app, err := apps.Application(ctx, id)
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			return nil, nil
		}
		return app.Events, err
	}
	return v
}
