package service

import (
	"context"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/workable"
)

// workableSync builds the Workable sync when GOODWILL_WORKABLE_TOKEN is set, else nil.
// It reads Workable's API through the runner's client, paced at Workable's documented
// rate for an account token; the runner's writer leaves out the events Workable's
// webhooks already delivered. It reads an application's interviews in the store
// (Known) to see which moved.
func (s *Server) workableSync() *workable.Sync {
	cfg := s.cfg.Workable
	if !cfg.Configured() {
		return nil
	}
	v, err := workable.NewVendor(cfg, s.now)
	if err != nil {
		s.log.Error("the Workable sync is off: its configuration is refused", "err", err)
		return nil
	}
	apps := interactions.NewStore(s.store.DB)
	v.Known = func(ctx context.Context, id string) ([]interactions.Interaction, error) {
		app, err := apps.Application(ctx, id)
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			return nil, nil
		}
		return app.Events, err
	}
	return v
}
