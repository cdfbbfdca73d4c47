package webhooks

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// Ingest is what happens to a webhook delivery, in the order of Convoy's gateway:
//
//	verify the signature (refused: SignatureError, logged as rejected without the body)
//	→ map it (malformed: CodeInvalid, logged as rejected) → ping / ignored: logged
//	→ validate every item (CodeInvalid, logged as rejected)
//	→ record the delivery with its raw body under its key (a redelivery collides: duplicate)
//	→ write the interactions (idempotent by (source, external_id))
//	→ mark the record stored.
//
// A failure after the record is written leaves it pending, and the vendor's retry
// completes the write instead of being answered as a duplicate. Replay maps stored
// bodies again; receivers of other shapes (Twilio) use its steps (Note, Store, Reject,
// RejectSignature, Once).
type Ingest struct {
	cfg Config
	parked
}

// Config is what Ingest works with. Every field but Secrets, Retention, Applications,
// Counter and ParkedFor is required.
type Config struct {
	Deliveries DeliveryLog // the delivery log (*Store)
	Writer     Writer      // where interactions are written
	Receivers  Receivers   // the receiver of each source
	// Secrets are the signing secrets by source (GOODWILL_WEBHOOK_SECRET_<SOURCE>): a
	// source without one accepts nothing.
	Secrets map[string][]string
	// Throttle counts failed signature checks by client address.
	Throttle Throttle
	// Retention is how long the delivery log keeps its records (Purge).
	Retention time.Duration
	// Applications finds the candidate of a known application, for thin events
	// (Delivery.Thin). Without it every thin event is parked.
	Applications Applications
	// Counter, when set, counts parked and orphaned deliveries in the vendor's
	// connector (atssync.CountParked, CountOrphaned).
	Counter Counter
	// ParkedFor is how long a parked delivery waits for its application before it is
	// orphaned (default 7 days).
	ParkedFor time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// DeliveryLog is the webhook delivery log; Store is the MongoDB one. Its methods are
// documented on Store.
type DeliveryLog interface {
	Insert(ctx context.Context, r Record) (Record, bool, error)
	Log(ctx context.Context, r Record) error
	LogRejection(ctx context.Context, r Record) (bool, error)
	Get(ctx context.Context, key string) (Record, error)
	Finish(ctx context.Context, key, outcome string, ids []string, stored, duplicates int, erased bool) error
	Settle(ctx context.Context, key, outcome, reason string, dropBody bool) error
	Park(ctx context.Context, p Parking) error
	Unpark(ctx context.Context, key string) error
	ParkedList(ctx context.Context) ([]Parking, error)
	List(ctx context.Context, f Filter) ([]Record, string, error)
	EachBody(ctx context.Context, source string, since time.Time, f func(Record) error) error
	First(ctx context.Context, key string, at time.Time) (bool, error)
	Forget(ctx context.Context, key string) error
	Purge(ctx context.Context, before time.Time) (int64, error)
}

// Writer writes validated interactions durably and idempotently (interactions.Writer):
// it returns them as stored, Duplicate set on those whose idempotency key was stored
// before, Erased on those whose person was erased.
type Writer interface {
	Write(ctx context.Context, items []interactions.Interaction) ([]interactions.Interaction, error)
}

// Receivers finds the receiver of a source; label is the URL's {label}, "" without.
// ok is false for a source that has none.
type Receivers interface {
	Receiver(source, label string) (r Receiver, ok bool)
}

// Throttle counts a failed signature check from a client address at now and reports
// whether the address has failed too often, and for how long it should wait.
type Throttle interface {
	Fail(addr string, now time.Time) (retryAfter time.Duration, throttled bool)
}

// NewIngest returns the use case over cfg.
func NewIngest(cfg Config) *Ingest {
	if cfg.ParkedFor <= 0 {
		cfg.ParkedFor = DefaultParkedFor
	}
	return &Ingest{cfg: cfg, parked: parked{waiting: map[string][]string{}}}
}

// Request is one delivery as it arrived at POST /webhooks/{source}[/{label}].
type Request struct {
	Source string
	Label  string
	// Labeled is set when the URL has a {label} segment, even an empty one.
	Labeled    bool
	Header     http.Header
	Body       io.Reader // read once the source and label are known good
	ClientAddr string    // the client's address, for throttling failed signatures
}

// Result is how a delivery ended when it ended without error.
type Result struct {
	// Outcome is OutcomeStored, OutcomeDuplicate (a redelivery: nothing was written),
	// OutcomePing, OutcomeIgnored or OutcomeParked (its application is not known yet);
	// "" when Throttled.
	Outcome string
	// Reason says why an ignored delivery maps to nothing, or why one is parked.
	Reason string
	// Stored and Duplicates count the interactions new to the log and those whose
	// idempotency key was stored before.
	Stored, Duplicates int
	// InteractionIDs are the ids of the delivery's interactions, the originals for
	// duplicates; never nil for OutcomeStored and OutcomeDuplicate.
	InteractionIDs []string
	// Throttled: the signature check failed and the client address has failed too
	// often; it should retry after RetryAfter. The refusal is logged as rate_limited.
	Throttled  bool
	RetryAfter time.Duration
}

// Receive runs one delivery through verify → map → validate → record → write → mark.
// Errors: EndpointError (no such source, or a label that cannot be one), SignatureError,
// CodeInvalid (the body does not map or validate; fields named where the receiver names
// them), CodeUnavailable, or the writer's errors (CodeConflict). A too-large body is
// the reader's error.
func (g *Ingest) Receive(ctx context.Context, req Request) (Result, error) {
	recv, ok := g.cfg.Receivers.Receiver(req.Source, req.Label)
	if !ok {
		return Result{}, &EndpointError{Detail: fmt.Sprintf("no webhook source %q: use greenhouse, lever, ashby, workable or standard", req.Source)}
	}
	// The label before the signature: a URL that cannot be a subscription's is not
	// there, whether or not the source has a secret, and nothing of it is stored.
	if req.Labeled && !ValidLabel(req.Label) {
		CountRejected(req.Source, RejectBadLabel)
		return Result{}, &EndpointError{Detail: "a webhook label is 1 to 64 of a-z, 0-9, '_' and '-'"}
	}
	body, err := readAll(req.Body)
	if err != nil {
		return Result{}, err
	}
	now := g.cfg.Now()
	rec := Record{Source: req.Source, Label: req.Label, ReceivedAt: now, Headers: KeptHeaders(req.Header)}
	if err := recv.Verify(req.Header, body, g.cfg.Secrets[req.Source], now); err != nil {
		if errors.Is(err, ErrNoSecret) {
			err = fmt.Errorf("%w: set GOODWILL_WEBHOOK_SECRET_%s", err, strings.ToUpper(req.Source))
		}
		return g.RejectSignature(ctx, rec, req.ClientAddr, VerifyReason(err), err.Error())
	}
	d, err := recv.Parse(req.Header, body, now)
	rec.Event, rec.DeliveryID = d.Event, d.DeliveryID
	if d.DeliveryID != "" {
		// A delivery id seen before is a redelivery, whatever the body says now (Lever
		// does not sign its body).
		got, gerr := g.cfg.Deliveries.Get(ctx, DeliveryKey(req.Source, d.DeliveryID, nil))
		switch {
		case gerr == nil && (got.Outcome == OutcomeStored || got.Outcome == OutcomePending || got.Outcome == OutcomeParked):
			return g.redelivered(ctx, rec, got, now)
		case gerr != nil && interactions.ErrorCode(gerr) != interactions.CodeNotFound:
			return Result{}, gerr
		}
	}
	if err != nil {
		g.Reject(ctx, rec, RejectMalformed, err.Error())
		return Result{}, malformedError(err)
	}
	switch {
	case d.Ping:
		if err := g.Note(ctx, rec, body, OutcomePing, ""); err != nil {
			return Result{}, err
		}
		return Result{Outcome: OutcomePing}, nil
	case d.Ignored != "" || len(d.Items) == 0:
		reason := cmp.Or(d.Ignored, "the delivery maps to no interaction")
		if err := g.Note(ctx, rec, body, OutcomeIgnored, reason); err != nil {
			return Result{}, err
		}
		return Result{Outcome: OutcomeIgnored, Reason: reason}, nil
	}
	if d.Thin {
		app, err := g.fillCandidates(ctx, &d)
		if err != nil {
			return Result{}, err
		}
		if app != "" {
			return g.park(ctx, rec, body, app, now)
		}
	}
	items, err := validate(d, body, now)
	if err != nil {
		g.Reject(ctx, rec, RejectMalformed, err.Error())
		return Result{}, err
	}
	return g.Store(ctx, rec, body, items, now)
}

// readAll reads a request body; a nil reader is an empty body.
func readAll(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return io.ReadAll(r)
}

// malformedError is the CodeInvalid error of a body a receiver refused, with field
// errors where the receiver names them (Standard Webhooks).
func malformedError(err error) error {
	e := &interactions.Error{Code: interactions.CodeInvalid, Message: err.Error(), Err: err}
	var fe *interactions.Error
	if errors.As(err, &fe) {
		e.Fields = fe.Fields
	}
	return e
}

// validate validates a delivery's items as POST /v1/interactions does. Field names
// carry "interactions[i]." when the delivery holds several items or is a Standard
// Webhooks batch.
func validate(d Delivery, body []byte, now time.Time) ([]interactions.Interaction, error) {
	batch := len(d.Items) > 1
	if !batch && d.Source == "standard" {
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) == nil {
			_, batch = top["interactions"]
		}
	}
	items := make([]interactions.Interaction, 0, len(d.Items))
	var fields []interactions.FieldError
	for i, in := range d.Items {
		prefix := ""
		if batch {
			prefix = "interactions[" + strconv.Itoa(i) + "]."
		}
		it, errs := in.Validate(prefix, now)
		fields = append(fields, errs...)
		items = append(items, it)
	}
	if len(fields) > 0 {
		return nil, interactions.Invalid(fields...)
	}
	return items, nil
}

// Reject counts a refused delivery in goodwill_webhook_deliveries_rejected_total and
// logs it without its body, at most once per source and reason per minute (a flood
// writes next to nothing). reason is one of RejectReasons, detail says what was wrong.
// A failure to log is only logged: the answer is the refusal either way.
func (g *Ingest) Reject(ctx context.Context, rec Record, reason, detail string) {
	CountRejected(rec.Source, reason)
	rec.Outcome, rec.Rejection, rec.Reason = OutcomeRejected, reason, detail
	if _, err := g.cfg.Deliveries.LogRejection(ctx, rec); err != nil {
		g.cfg.Log.Warn("record rejected webhook delivery", "source", rec.Source, "err", err)
	}
}

// RejectSignature refuses a delivery whose signature check failed (reason no_secret,
// bad_signature or stale) with a SignatureError, or, once its client address has
// failed too often, with a Throttled result (logged as rate_limited). Only failures
// count: a valid signature from the same address is never refused.
func (g *Ingest) RejectSignature(ctx context.Context, rec Record, clientAddr, reason, detail string) (Result, error) {
	if retryAfter, throttled := g.cfg.Throttle.Fail(clientAddr, g.cfg.Now()); throttled {
		g.Reject(ctx, rec, RejectRateLimited, "too many failed signature checks from the client address: "+detail)
		return Result{Throttled: true, RetryAfter: retryAfter}, nil
	}
	g.Reject(ctx, rec, reason, detail)
	return Result{}, &SignatureError{Reason: reason, Detail: detail}
}

// Note logs a delivery that stores nothing (ping, ignored, an SMS from an unknown
// number, a recruiter's command, a status callback) under rec.Key, or when that is ""
// its delivery key, without its body: a redelivery adds no entry. Store failures are
// CodeUnavailable.
func (g *Ingest) Note(ctx context.Context, rec Record, body []byte, outcome, reason string) error {
	if rec.Key == "" {
		rec.Key = DeliveryKey(rec.Source, rec.DeliveryID, body)
	}
	rec.Outcome, rec.Reason, rec.Body, rec.CandidateIDs = outcome, reason, "", nil
	_, _, err := g.cfg.Deliveries.Insert(ctx, rec)
	return err
}

// Store records a verified, valid delivery with its raw body, then writes its
// interactions, then marks the record stored: a success may be answered only after
// all three. A record already stored means a redelivery: a bodyless "duplicate" entry
// is logged and nothing else is written. A record left pending by an earlier failure
// is completed, from its stored body when the new one differs (Lever signs no body).
func (g *Ingest) Store(ctx context.Context, rec Record, body []byte, items []interactions.Interaction, now time.Time) (Result, error) {
	rec.Key = DeliveryKey(rec.Source, rec.DeliveryID, body)
	rec.Outcome, rec.Body, rec.CandidateIDs = OutcomePending, string(body), candidateIDs(items)
	got, existed, err := g.cfg.Deliveries.Insert(ctx, rec)
	if err != nil {
		return Result{}, err
	}
	switch {
	case existed && got.Outcome == OutcomeRefused:
		return g.write(ctx, got.Key, items) // refused again, or written if the key is free now
	case existed && (got.Outcome != OutcomePending || got.Body != string(body)):
		return g.redelivered(ctx, rec, got, now)
	}
	return g.write(ctx, got.Key, items)
}

// redelivered handles a delivery whose key is recorded already as got. A stored
// delivery (or one whose body was erased) is a duplicate: a bodyless entry is logged
// and nothing else is written. A pending one, left by a failure, is completed from
// the body first recorded.
func (g *Ingest) redelivered(ctx context.Context, rec, got Record, now time.Time) (Result, error) {
	if (got.Outcome == OutcomePending || got.Outcome == OutcomeParked) && got.Body != "" {
		items, waitFor, err := g.reparse(ctx, got, now)
		switch {
		case err != nil:
			return Result{}, err
		case waitFor != "":
			return Result{Outcome: OutcomeParked, Reason: got.Reason}, nil
		}
		return g.applyItems(ctx, got, items)
	}
	dup := rec
	dup.Outcome, dup.Body, dup.CandidateIDs = OutcomeDuplicate, "", nil
	dup.Reason = "a redelivery of " + got.Key + ", first received " + interactions.APITime(got.ReceivedAt)
	dup.InteractionIDs = got.InteractionIDs
	if err := g.cfg.Deliveries.Log(ctx, dup); err != nil {
		g.cfg.Log.Warn("record duplicate webhook delivery", "source", rec.Source, "err", err)
	}
	return Result{Outcome: OutcomeDuplicate, InteractionIDs: nonNil(got.InteractionIDs)}, nil
}

// write writes a delivery's interactions and marks its record stored. When the writer
// stripped an item because its person was erased (a tombstone), the raw body is
// dropped too.
func (g *Ingest) write(ctx context.Context, key string, items []interactions.Interaction) (Result, error) {
	res := Result{Outcome: OutcomeStored, InteractionIDs: []string{}}
	erased := false
	if len(items) > 0 {
		stored, err := g.cfg.Writer.Write(ctx, items)
		if interactions.ErrorCode(err) == interactions.CodeConflict {
			// Refused for good: the log says so, and keeps nothing of it.
			if serr := g.cfg.Deliveries.Settle(ctx, key, OutcomeRefused, err.Error(), true); serr != nil {
				g.cfg.Log.Warn("record refused webhook delivery", "key", key, "err", serr)
			}
		}
		if err != nil {
			return res, err
		}
		for _, it := range stored {
			res.InteractionIDs = append(res.InteractionIDs, it.ID)
			erased = erased || it.Erased
			if it.Duplicate {
				res.Duplicates++
			} else {
				res.Stored++
			}
		}
	}
	err := g.cfg.Deliveries.Finish(ctx, key, OutcomeStored, res.InteractionIDs, res.Stored, res.Duplicates, erased)
	return res, err
}

// reparse maps a stored raw body again with the current mapping. A delivery that now
// maps to nothing gives no items; one that no longer maps is CodeInvalid. A thin
// event whose application is still unknown gives no items and that application
// (waitFor).
func (g *Ingest) reparse(ctx context.Context, rec Record, now time.Time) (items []interactions.Interaction, waitFor string, err error) {
	recv, ok := g.cfg.Receivers.Receiver(rec.Source, rec.Label)
	if !ok {
		return nil, "", interactions.Errorf(interactions.CodeInvalid, "deliveries from %s cannot be parsed again", rec.Source)
	}
	body := []byte(rec.Body)
	d, err := recv.Parse(rec.Header(), body, rec.ReceivedAt)
	if err != nil {
		return nil, "", interactions.Errorf(interactions.CodeInvalid, "%s", err.Error())
	}
	if d.Ping || d.Ignored != "" {
		return nil, "", nil
	}
	if d.Thin {
		if waitFor, err = g.fillCandidates(ctx, &d); err != nil || waitFor != "" {
			return nil, waitFor, err
		}
	}
	items, err = validate(d, body, now)
	return items, "", err
}

func candidateIDs(items []interactions.Interaction) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.CandidateID] {
			seen[it.CandidateID] = true
			out = append(out, it.CandidateID)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ReplayResult counts what a replay did.
type ReplayResult struct {
	Deliveries int // stored bodies of receivers that map them
	Stored     int // interactions new to the log
	Duplicates int // interactions stored before
	Failed     int // bodies that no longer map or validate
}

// Replay maps every stored raw body (of source, received since; "" and the zero time
// for all) again with the current mapping and writes its interactions. Idempotency keys
// make a replay of unchanged mappings store nothing new; a delivery left pending is
// completed. Bodies that no longer map or validate are counted as Failed; a store
// failure stops the replay (running it again is harmless). Twilio's bodies are left
// alone: they need the sender lookups of their time.
func (g *Ingest) Replay(ctx context.Context, source string, since time.Time) (ReplayResult, error) {
	now := g.cfg.Now()
	var res ReplayResult
	err := g.cfg.Deliveries.EachBody(ctx, source, since, func(rec Record) error {
		if _, ok := g.cfg.Receivers.Receiver(rec.Source, rec.Label); !ok {
			return nil
		}
		res.Deliveries++
		items, waitFor, err := g.reparse(ctx, rec, now)
		if err != nil {
			if interactions.ErrorCode(err) == interactions.CodeInvalid {
				res.Failed++
				g.cfg.Log.Warn("replay: a stored webhook body no longer maps", "delivery", rec.ID, "source", rec.Source, "err", err)
				return nil
			}
			return err
		}
		if len(items) == 0 || waitFor != "" {
			return nil // the current mapping ignores it, or its application is not known yet
		}
		w, err := g.applyItems(ctx, rec, items)
		if err != nil {
			return err
		}
		res.Stored += w.Stored
		res.Duplicates += w.Duplicates
		return nil
	})
	return res, err
}

// List returns the log's records matching f, newest first, without bodies, and the
// cursor of the next page ("" when there is none). A malformed cursor is CodeInvalid.
func (g *Ingest) List(ctx context.Context, f Filter) ([]Record, string, error) {
	return g.cfg.Deliveries.List(ctx, f)
}

// Once records key (a callback's) as acted on at at, before acting on it, and reports
// whether it is new: false means the callback was handled before (a replay). If acting
// then fails, Forget the key so that the sender's retry acts.
func (g *Ingest) Once(ctx context.Context, key string, at time.Time) (bool, error) {
	return g.cfg.Deliveries.First(ctx, key, at)
}

// Forget drops a key Once recorded, after acting failed. If that fails too, the
// callback is lost: it is logged.
func (g *Ingest) Forget(ctx context.Context, key string) {
	if err := g.cfg.Deliveries.Forget(ctx, key); err != nil {
		g.cfg.Log.Warn("a failed Twilio callback will not be retried", "key", key, "err", err)
	}
}

// Purge deletes what the delivery log holds from before the retention: records of
// every outcome with their raw bodies, and the keys Once recorded. It returns how many
// documents it deleted.
func (g *Ingest) Purge(ctx context.Context) (int64, error) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return g.cfg.Deliveries.Purge(pctx, g.cfg.Now().Add(-g.cfg.Retention))
}

// Purging purges the delivery log a minute after it is called and then daily, until
// ctx ends.
func (g *Ingest) Purging(ctx context.Context) {
	interactions.Daily(ctx, g.cfg.Log, "webhooks: purge the delivery log", g.Purge)
}
