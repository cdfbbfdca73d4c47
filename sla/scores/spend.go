package scores

import (
	"cmp"
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// Spend is what was spent on one attribution source in one calendar month, in the
// deployment's currency.
type Spend struct {
	Source    string    `bson:"source" json:"source"`
	Month     string    `bson:"month" json:"month"` // YYYY-MM
	Amount    string    `bson:"amount" json:"amount"`
	Currency  string    `bson:"currency" json:"currency"`
	UpdatedAt time.Time `bson:"updated_at" json:"-"`
}

// SpendStore keeps the spend per attribution source and month (the collection
// "spend", one document per source and month, _id "<month>|<source>"). It is small:
// a few sources times the months of a few years, so it is read whole.
type SpendStore struct {
	c        *mongo.Collection
	currency string
}

// NewSpendStore returns the store; amounts are in currency (an ISO 4217 code).
func NewSpendStore(db *mongo.Database, currency string) *SpendStore {
	return &SpendStore{c: db.Collection("spend"), currency: currency}
}

// Currency is the deployment's currency.
func (s *SpendStore) Currency() string { return s.currency }

var (
	monthRE  = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)
	amountRE = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,4})?$`)
)

// ParseSpend validates a spend as PUT /v1/spend/{source}/{month} gives it: the source
// is trimmed and lower-cased like an attribution source, the month is YYYY-MM, the
// amount a non-negative decimal number (at most 4 decimals) and the currency, when
// given, the deployment's. Errors are CodeInvalid naming the field.
func (s *SpendStore) ParseSpend(source, month, amount, currency string, now time.Time) (Spend, error) {
	var fields []interactions.FieldError
	bad := func(f, m string) { fields = append(fields, interactions.FieldError{Field: f, Message: m}) }
	source = strings.ToLower(strings.TrimSpace(source))
	switch {
	case source == "":
		bad("source", "is required")
	case len(source) > 200 || !utf8.ValidString(source) || strings.ContainsFunc(source, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		bad("source", "must be printable text of at most 200 bytes")
	}
	if !monthRE.MatchString(month) {
		bad("month", "must be a month like 2026-03")
	}
	switch {
	case amount == "":
		bad("amount", "is required")
	case !amountRE.MatchString(amount):
		bad("amount", "must be a non-negative decimal number with at most 4 decimals, like 1250.50")
	}
	if c := strings.ToUpper(strings.TrimSpace(currency)); c != "" && c != s.currency {
		bad("currency", "must be "+s.currency+", the deployment's currency (GOODWILL_CURRENCY)")
	}
	if len(fields) > 0 {
		return Spend{}, interactions.Invalid(fields...)
	}
	// A canonical decimal: no leading zeros, no trailing zeros after the point.
	v, _ := strconv.ParseFloat(amount, 64)
	return Spend{Source: source, Month: month, Amount: strconv.FormatFloat(v, 'f', -1, 64), Currency: s.currency, UpdatedAt: now.UTC()}, nil
}

// Put stores a spend, replacing that of the same source and month.
func (s *SpendStore) Put(ctx context.Context, sp Spend) error {
	id := sp.Month + "|" + sp.Source
	doc := bson.M{"_id": id, "source": sp.Source, "month": sp.Month, "amount": sp.Amount, "currency": sp.Currency, "updated_at": sp.UpdatedAt}
	err := s.c.FindOneAndReplace(ctx, bson.M{"_id": id}, doc, options.FindOneAndReplace().SetUpsert(true)).Err()
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return interactions.Unavailable("save spend", err)
	}
	return nil
}

// List returns the spend of the months from to to (YYYY-MM, both included; "" leaves
// that end open), by month then source.
func (s *SpendStore) List(ctx context.Context, from, to string) ([]Spend, error) {
	cur, err := s.c.Find(ctx, bson.M{})
	if err != nil {
		return nil, interactions.Unavailable("list spend", err)
	}
	var all []Spend
	if err := cur.All(ctx, &all); err != nil {
		return nil, interactions.Unavailable("list spend", err)
	}
	out := all[:0]
	for _, sp := range all {
		if (from == "" || sp.Month >= from) && (to == "" || sp.Month <= to) {
			out = append(out, sp)
		}
	}
	slices.SortFunc(out, func(a, b Spend) int { return cmp.Or(cmp.Compare(a.Month, b.Month), cmp.Compare(a.Source, b.Source)) })
	return out, nil
}

// PeriodSpend returns, per source, what was spent over the days from to to (dates,
// both included): each month's spend pro-rated by the share of the month's days the
// period covers. Sources with no spend recorded for any month the period touches are
// absent.
func PeriodSpend(spend []Spend, from, to time.Time) map[string]float64 {
	first, last := dateDay(from), dateDay(to)
	out := map[string]float64{}
	for _, sp := range spend {
		m, err := time.Parse("2006-01", sp.Month)
		if err != nil {
			continue
		}
		start := dateDay(m)
		end := dateDay(m.AddDate(0, 1, -1))
		lo, hi := max(start, first), min(end, last)
		if lo > hi {
			continue
		}
		amount, err := strconv.ParseFloat(sp.Amount, 64)
		if err != nil {
			continue
		}
		out[sp.Source] += amount * float64(hi-lo+1) / float64(end-start+1)
	}
	return out
}

// AddCosts sets cost_per_application and cost_per_hire on groups by attribution
// source from the period's spend (PeriodSpend): null where no spend is known for the
// source, or no application (hire) to divide it by. Amounts are rounded to cents.
func AddCosts(groups []Group, spent map[string]float64) {
	for i := range groups {
		g := &groups[i]
		g.CostPerApplication, g.CostPerHire = Some(nil), Some(nil)
		amount, ok := spent[g.Key]
		if !ok {
			continue
		}
		if g.Applications > 0 {
			g.CostPerApplication = Some(ptr(math.Round(amount/float64(g.Applications)*100) / 100))
		}
		if g.Hired != nil && *g.Hired > 0 {
			g.CostPerHire = Some(ptr(math.Round(amount/float64(*g.Hired)*100) / 100))
		}
	}
}
