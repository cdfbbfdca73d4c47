package service

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla/scores"
)

// putSpend answers PUT /v1/spend/{source}/{month}: what was spent on an attribution
// source in a month, in the deployment's currency.
func (s *api) putSpend(c *gin.Context) {
	var req struct {
		Amount   json.Number `json:"amount"`
		Currency string      `json:"currency"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	sp, err := s.spend.ParseSpend(c.Param("source"), c.Param("month"), req.Amount.String(), req.Currency, s.now())
	if err != nil {
		fail(c, err)
		return
	}
	if err := s.spend.Put(ctx(c), sp); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sp)
}

var spendMonthRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// listSpend answers GET /v1/spend?from=YYYY-MM&to=YYYY-MM.
func (s *api) listSpend(c *gin.Context) {
	var fields []interactions.FieldError
	from, to := c.Query("from"), c.Query("to")
	for _, p := range []struct{ name, v string }{{"from", from}, {"to", to}} {
		if p.v != "" && !spendMonthRE.MatchString(p.v) {
			fields = append(fields, interactions.FieldError{Field: p.name, Message: "must be a month like 2026-03"})
		}
	}
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	list, err := s.spend.List(ctx(c), from, to)
	if err != nil {
		fail(c, err)
		return
	}
	if list == nil {
		list = []scores.Spend{}
	}
	c.JSON(http.StatusOK, gin.H{"currency": s.spend.Currency(), "spend": list})
}
