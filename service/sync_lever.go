package service

import (
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/lever"
)

// leverSync builds the Lever sync when GOODWILL_LEVER_API_KEY is set, else nil. It
// reads Lever's API through the runner's client, paced at Lever's documented rate; the
// runner's writer leaves out the events Lever's webhooks already delivered. The Lever receiver names stage ids and hires with what it reads (receivers).
func (s *Server) leverSync() *lever.Sync {
	cfg := s.cfg.LeverSync
	if !cfg.Enabled() {
		return nil
	}
	client, err := atssync.NewClient(atssync.ClientConfig{
		Vendor: "lever", BaseURL: cfg.APIURL, Rate: lever.RequestsPerSecond, Burst: lever.Burst,
	})
	if err != nil {
		s.log.Error("the Lever sync is off: its configuration is refused", "err", err)
		return nil
	}
	return lever.New(lever.Config{APIKey: cfg.APIKey, APIURL: cfg.APIURL, HiredArchiveReasons: s.cfg.LeverHiredReasons}, client, s.now)
}

// leverNames is what the Lever receiver names ids with: the sync, when configured.
func (s *Server) leverNames() lever.Names {
	if s.lever == nil {
		return nil // not a typed nil: the receiver then uses ids and its configuration
	}
	return s.lever
}
