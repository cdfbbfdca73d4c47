package service

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
)

// syncVendors are the ATS vendors whose API credentials are configured: each pulls
// what its webhooks leave out (docs/connecting-your-ats.md, "ATS sync"). Wiring a vendor is one line here,
// building its atssync.Vendor from the configuration; a vendor without credentials
// is not listed and nothing of it runs.
func (s *Server) syncVendors() []atssync.Vendor {
	vendors := []atssync.Vendor{}
	if g := s.cfg.Greenhouse; g.Configured() {
		if v, err := greenhouse.NewVendor(g, s.now); err != nil {
			s.log.Error("the Greenhouse sync is off: its configuration is refused", "err", err)
		} else {
			vendors = append(vendors, v)
		}
	}
	if s.lever != nil {
		vendors = append(vendors, s.lever)
	}
	if s.ashby != nil {
		vendors = append(vendors, s.ashby)
	}
	if w := s.workableSync(); w != nil {
		vendors = append(vendors, w)
	}
	return append(vendors, s.opts.SyncVendors...)
}

// startSync starts the ATS sync runner over the configured vendors (none: it runs
// nothing, and GET /v1/connectors lists every vendor as not configured). It writes
// through the writer, leaving out the events a webhook delivered already, and records the ATS's users in the recruiters directory.
func (s *Server) startSync(ctx context.Context, db *mongo.Database, recruiters *directory.Store) {
	replica := "" // several replicas may share the store: each a random name
	if s.leases == nil {
		// The embedded store serves one process: after a crash, the restarted process
		// takes its vendors' leases back at once instead of waiting for them to expire.
		replica = "embedded"
	}
	s.syncRunner = atssync.NewRunner(atssync.Config{
		Replica:   replica,
		Vendors:   s.syncVendors(),
		DB:        db,
		Writer:    s.writer.Events(), // a webhook and the sync describe one event once
		Directory: syncDirectory(recruiters, s.slack, s.log),
		Interval:  s.cfg.SyncInterval.Wall(),
		Lookback:  s.cfg.SyncLookback.Wall(),
		Log:       s.log,
		Now:       s.now,
	})
	s.syncRunner.Start(ctx)
}

type passView struct {
	StartedAt  *string `json:"started_at"`
	FinishedAt *string `json:"finished_at"`
	Outcome    string  `json:"outcome"`
	Error      *string `json:"error"`
}

type cursorView struct {
	Since *string `json:"since,omitempty"`
	Token string  `json:"token,omitempty"`
}

type connectorView struct {
	Vendor     string                `json:"vendor"`
	Configured bool                  `json:"configured"`
	LastPass   *passView             `json:"last_pass"`
	Cursor     map[string]cursorView `json:"cursor"`
	Counts     map[string]int64      `json:"counts"`
}

// listConnectors answers GET /v1/connectors: every ATS vendor, configured or not, with
// its last sync pass, its cursors by resource and its counts since the first pass.
func (s *api) listConnectors(c *gin.Context) {
	list, err := s.syncRunner.Connectors(ctx(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]connectorView, 0, len(list))
	for _, con := range list {
		v := connectorView{Vendor: con.Vendor, Configured: con.Configured, Counts: con.Counts}
		if p := con.LastPass; p != nil {
			v.LastPass = &passView{StartedAt: apiTime(&p.StartedAt), FinishedAt: apiTime(p.FinishedAt), Outcome: p.Outcome}
			if p.Error != "" {
				v.LastPass.Error = &p.Error
			}
		}
		if len(con.Cursors) > 0 {
			v.Cursor = map[string]cursorView{}
			for res, cur := range con.Cursors {
				v.Cursor[res] = cursorView{Since: apiTime(&cur.Since), Token: cur.Token}
			}
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"connectors": out})
}
