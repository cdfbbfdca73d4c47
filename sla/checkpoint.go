package sla

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/google/uuid"

	"github.com/goodwillhq/goodwill/interactions"
)

// A checkpoint is what a clean stop saves so that the next start does not read every
// application: the open clocks as the scheduler keeps them, with the transitions each
// application recorded already, and the state of the books the observer fills (the
// scores and the pools, see Checkpointed). It is stored in sla_checkpoint in chunks
// and named by the clean stop's note (settings), which also holds the version of the
// policies and calendar it was derived under, a digest of the pools and the
// projector's mark. A start uses it only when the version and the pools are those in
// force. After a clean stop, the projector's mark must be the one the checkpoint saw,
// with the projector's own clean stop: then no application changed since. Taking the
// note at start marks the stop unclean, so that after a crash the checkpoint is used
// only with the applications of every interaction received since its mark derived
// anew (that stop applied everything received before it) and the transitions recorded
// since that stop checked; without ChangedSince that start rebuilds from every
// application.

// MarkFunc returns the projector's stored high-water mark and whether its last stop
// was clean (interactions.Store.ProjectorMark).
type MarkFunc func(ctx context.Context) (mark time.Time, clean bool, err error)

// Checkpointed is state kept beside the engine's clocks — a book its observer fills —
// that a checkpoint saves and restores with them, instead of showing the book every
// application again at start.
type Checkpointed interface {
	// SaveCheckpoint writes the state. The engine calls it once stopped, when nothing
	// changes the state any more.
	SaveCheckpoint(w *CheckpointWriter)
	// LoadCheckpoint reads what SaveCheckpoint wrote and returns the function that
	// puts it in place of the current state. It changes nothing itself, so that a
	// checkpoint found wrong part way is not half used.
	LoadCheckpoint(r *CheckpointReader) (restore func(), err error)
}

// checkpointFormat numbers the checkpoint's layout; a checkpoint of another format
// is not used.
const checkpointFormat = 1

// checkpointChunk is the most one sla_checkpoint document holds, well under MongoDB's
// 16 MB.
const checkpointChunk = 4 << 20

// CheckpointWriter appends values to a checkpoint in a compact binary form.
type CheckpointWriter struct{ buf []byte }

// Bytes returns what was written.
func (w *CheckpointWriter) Bytes() []byte { return w.buf }

// Uint appends an unsigned integer.
func (w *CheckpointWriter) Uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

// Int appends a signed integer.
func (w *CheckpointWriter) Int(v int64) { w.buf = binary.AppendVarint(w.buf, v) }

// Fixed64 appends 8 bytes.
func (w *CheckpointWriter) Fixed64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }

// String appends a string.
func (w *CheckpointWriter) String(s string) {
	w.Uint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// Bool appends a boolean.
func (w *CheckpointWriter) Bool(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// Raw appends bytes with their length.
func (w *CheckpointWriter) Raw(b []byte) {
	w.Uint(uint64(len(b)))
	w.buf = append(w.buf, b...)
}

// CheckpointReader reads what a CheckpointWriter wrote. After the first error every
// read returns zero values and Err reports it.
type CheckpointReader struct {
	buf []byte
	err error
}

// NewCheckpointReader reads b.
func NewCheckpointReader(b []byte) *CheckpointReader { return &CheckpointReader{buf: b} }

var errCheckpointShort = errors.New("checkpoint: truncated")

func (r *CheckpointReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.buf = nil
}

// Err returns the first error met.
func (r *CheckpointReader) Err() error { return r.err }

// Done reports an error unless everything was read without one.
func (r *CheckpointReader) Done() error {
	if r.err == nil && len(r.buf) > 0 {
		r.err = errors.New("checkpoint: unexpected trailing bytes")
	}
	return r.err
}

// Uint reads an unsigned integer.
func (r *CheckpointReader) Uint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail(errCheckpointShort)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Int reads a signed integer.
func (r *CheckpointReader) Int() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail(errCheckpointShort)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// take reads the next k bytes, nil when fewer are left; they share the reader's
// memory.
func (r *CheckpointReader) take(k int) []byte {
	if k > len(r.buf) {
		r.fail(errCheckpointShort)
		return nil
	}
	b := r.buf[:k:k]
	r.buf = r.buf[k:]
	return b
}

// Fixed64 reads 8 bytes.
func (r *CheckpointReader) Fixed64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Len reads a count, which must be at most the bytes left (every counted item takes
// at least one), so that a damaged count never allocates wildly.
func (r *CheckpointReader) Len() int {
	n := r.Uint()
	if n > uint64(len(r.buf)) {
		r.fail(errCheckpointShort)
		return 0
	}
	return int(n)
}

// Raw reads bytes written by Raw; they share the reader's memory.
func (r *CheckpointReader) Raw() []byte { return r.take(r.Len()) }

// String reads a string.
func (r *CheckpointReader) String() string { return string(r.Raw()) }

// Bool reads a boolean.
func (r *CheckpointReader) Bool() bool {
	bs := r.take(1)
	if bs == nil {
		return false
	}
	b := bs[0]
	if b > 1 {
		r.fail(errors.New("checkpoint: bad boolean"))
	}
	return b == 1
}

// checkpointInfo is what the clean stop's note says of the checkpoint saved with it.
type checkpointInfo struct {
	ID     string    `bson:"id,omitempty"` // the prefix of its chunks' _ids; "" when there is none
	Chunks int       `bson:"chunks,omitempty"`
	Size   int       `bson:"size,omitempty"`
	Sum    int64     `bson:"sum,omitempty"`   // CRC-32C of the whole
	Mark   time.Time `bson:"mark,omitempty"`  // the projector's mark it saw
	Pools  string    `bson:"pools,omitempty"` // poolsDigest of the pools it was derived with
}

// checkpointChunkDoc is one chunk of a checkpoint.
type checkpointChunkDoc struct {
	ID   string `bson:"_id"` // <checkpoint id>/<index>
	Data []byte `bson:"data"`
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// saveCheckpoint replaces the stored checkpoint by data and returns what the note
// says of it.
func (s *Store) saveCheckpoint(ctx context.Context, data []byte, id string) (checkpointInfo, error) {
	if _, err := s.checkpoint.DeleteMany(ctx, bson.M{}); err != nil {
		return checkpointInfo{}, err
	}
	info := checkpointInfo{ID: id, Size: len(data), Sum: int64(crc32.Checksum(data, crcTable))}
	for chunk := range slices.Chunk(data, checkpointChunk) { // never empty: it starts with its format
		doc := checkpointChunkDoc{ID: id + "/" + strconv.Itoa(info.Chunks), Data: chunk}
		if _, err := s.checkpoint.InsertOne(ctx, doc); err != nil {
			return checkpointInfo{}, err
		}
		info.Chunks++
	}
	return info, nil
}

// loadCheckpoint reads the checkpoint the note names, each chunk by _id.
func (s *Store) loadCheckpoint(ctx context.Context, info checkpointInfo) ([]byte, error) {
	data := make([]byte, 0, info.Size)
	for i := range info.Chunks {
		var doc checkpointChunkDoc
		err := s.checkpoint.FindOne(ctx, bson.M{"_id": info.ID + "/" + strconv.Itoa(i)}).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, fmt.Errorf("checkpoint chunk %d is missing", i)
		}
		if err != nil {
			return nil, err
		}
		data = append(data, doc.Data...)
	}
	if len(data) != info.Size || int64(crc32.Checksum(data, crcTable)) != info.Sum {
		return nil, errors.New("checkpoint: size or checksum differs from the note")
	}
	return data, nil
}

// poolsDigest identifies the pools nurture clocks were derived with.
func poolsDigest(pools map[string]Pool) string {
	list := slices.Collect(maps.Values(pools))
	slices.SortFunc(list, func(a, b Pool) int { return strings.Compare(a.ID, b.ID) })
	b, err := json.Marshal(list)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// writeCheckpoint saves the checkpoint of a stopped engine and returns what the clean
// stop's note says of it; the zero info when the projector did not stop clean (the
// next start would catch up with the log anyway) or the checkpoint could not be saved.
func (e *Engine) writeCheckpoint(ctx context.Context) checkpointInfo {
	if e.mark == nil {
		return checkpointInfo{}
	}
	mark, clean, err := e.mark(ctx)
	if err != nil || !clean {
		e.log.Info("sla: no checkpoint of the clocks: the projector did not stop clean", "err", err)
		return checkpointInfo{}
	}
	started := time.Now()
	w := &CheckpointWriter{}
	w.Uint(checkpointFormat)
	e.mu.Lock()
	e.saveClocks(w)
	pools := poolsDigest(e.env.Pools)
	e.mu.Unlock()
	for _, b := range e.books {
		sub := &CheckpointWriter{}
		b.SaveCheckpoint(sub)
		w.Raw(sub.buf)
	}
	info, err := e.store.saveCheckpoint(ctx, w.buf, strconv.FormatInt(time.Now().UnixNano(), 36))
	if err != nil {
		e.log.Warn("sla: saving the checkpoint of the clocks failed; the next start rebuilds them", "err", err)
		return checkpointInfo{}
	}
	info.Mark, info.Pools = mark, pools
	e.log.Info("sla: checkpoint of the clocks saved", "open_clocks", e.OpenClocks(), "bytes", len(w.buf), "chunks", info.Chunks, "took", time.Since(started).Round(time.Millisecond))
	return info
}

// saveClocks writes every application's open clocks and the hashes of its recorded
// transitions, with the engine's tables of policy and recruiter ids (every policy of
// an open clock is in its table: see compact). Callers hold e.mu.
func (e *Engine) saveClocks(w *CheckpointWriter) {
	for _, names := range [][]string{e.policies.names, e.recruiters.names} {
		w.Uint(uint64(len(names)))
		for _, s := range names {
			w.String(s)
		}
	}
	n := 0
	for i := uint32(0); i < e.slots.used; i++ {
		if e.slots.at(i).id != "" {
			n++
		}
	}
	w.Uint(uint64(n))
	for i := uint32(0); i < e.slots.used; i++ {
		a := e.slots.at(i)
		if a.id == "" {
			continue
		}
		w.String(a.id)
		w.Uint(uint64(a.recruiter))
		w.Uint(uint64(len(a.clocks)))
		for j := range a.clocks {
			oc := &a.clocks[j]
			w.Uint(uint64(oc.metric))
			if oc.rare {
				r := a.rareClock(j)
				w.Uint(uint64(e.policies.index[r.policyID]))
				w.String(r.interviewID)
				if u, ok := canonicalUUID(r.startedBy); ok {
					w.Bool(true)
					w.buf = append(w.buf, u[:]...)
				} else {
					w.Bool(false)
					w.String(r.startedBy)
				}
				writeTimes(w, oc, r.startRecv)
				continue
			}
			w.Uint(uint64(oc.policy))
			w.String("")
			w.Bool(true)
			w.buf = append(w.buf, oc.startedBy[:]...)
			writeTimes(w, oc, oc.startedAt+int64(oc.recvDelta))
		}
		var fired []uint64
		if a.extra != nil {
			fired = a.extra.fired
		}
		w.Uint(uint64(len(fired)))
		for _, h := range fired {
			w.Fixed64(h)
		}
	}
}

// writeTimes writes an open clock's start, then its warn and due times and when its
// starting interaction arrived (recv), as milliseconds after the start.
func writeTimes(w *CheckpointWriter, oc *openClock, recv int64) {
	w.Int(oc.startedAt)
	w.Int(oc.warnAt - oc.startedAt)
	w.Int(oc.dueAt - oc.startedAt)
	w.Int(recv - oc.startedAt)
}

// savedApp is one application of a checkpoint.
type savedApp struct {
	id, recruiter string
	clocks        []Clock
	fired         []uint64
}

// readClocks reads what saveClocks wrote, calling f with each application. The
// clocks and hashes f is given are reused by the next call.
func readClocks(r *CheckpointReader, f func(a *savedApp)) error {
	var tables [2][]string
	for t := range tables {
		n := r.Len()
		for range n {
			tables[t] = append(tables[t], r.String())
		}
	}
	policies, recruiters := tables[0], tables[1]
	name := func(list []string, i uint64) string {
		if i >= uint64(len(list)) {
			r.fail(errors.New("checkpoint: bad name index"))
			return ""
		}
		return list[i]
	}
	n := r.Len()
	var a savedApp
	for range n {
		if a.id = r.String(); a.id == "" {
			r.fail(errors.New("checkpoint: an application without an id"))
		}
		a.recruiter = name(recruiters, r.Uint())
		a.clocks = a.clocks[:0]
		nc := r.Len()
		for range nc {
			m := r.Uint()
			if m >= uint64(len(clockMetrics)) {
				r.fail(errors.New("checkpoint: bad metric"))
				break
			}
			c := Clock{ApplicationID: a.id, Metric: clockMetrics[m], State: StateRunning}
			c.PolicyID = name(policies, r.Uint())
			c.InterviewID = r.String()
			if r.Bool() {
				c.StartedBy = r.uuid().String()
			} else {
				c.StartedBy = r.String()
			}
			start := r.Int()
			c.StartedAt = time.UnixMilli(start).UTC()
			c.WarnAt = time.UnixMilli(start + r.Int()).UTC()
			c.DueAt = time.UnixMilli(start + r.Int()).UTC()
			c.StartReceivedAt = time.UnixMilli(start + r.Int()).UTC()
			c.ClockID = storedClockID(a.id, c.Metric, c.PolicyID, c.InterviewID, c.StartedBy)
			a.clocks = append(a.clocks, c)
		}
		a.fired = a.fired[:0]
		nf := r.Len()
		for range nf {
			a.fired = append(a.fired, r.Fixed64())
		}
		if r.err != nil {
			return r.err
		}
		f(&a)
	}
	return r.err
}

// restored is a checkpoint read and checked, ready to put in place.
type restored struct {
	clocks []byte   // the engine's part, read again by readClocks as it is put in place
	books  []func() // each book's restore
	// changed are the applications that may have changed since it was saved: after a
	// crash, those of interactions received since its mark (ChangedSince).
	changed []string
	apps    int // applications with open clocks it holds
}

// maxChanged is how many changed applications a start after a crash derives anew,
// each read by _id, before it would rather read them all with one scan: at least
// this many, and more than half the applications with open clocks.
const maxChanged = 20000

// readCheckpoint reads and checks the checkpoint the note names, changing nothing.
func (e *Engine) readCheckpoint(ctx context.Context, info checkpointInfo) (*restored, error) {
	data, err := e.store.loadCheckpoint(ctx, info)
	if err != nil {
		return nil, err
	}
	r := NewCheckpointReader(data)
	if f := r.Uint(); f != checkpointFormat {
		return nil, fmt.Errorf("checkpoint format %d, want %d", f, checkpointFormat)
	}
	start := len(data) - len(r.buf)
	n := 0
	if err := readClocks(r, func(*savedApp) { n++ }); err != nil {
		return nil, err
	}
	out := &restored{clocks: data[start : len(data)-len(r.buf)], apps: n}
	for _, b := range e.books {
		sub := NewCheckpointReader(r.Raw())
		if r.err != nil {
			return nil, r.err
		}
		restore, err := b.LoadCheckpoint(sub)
		if err == nil {
			err = sub.Done()
		}
		if err != nil {
			return nil, err
		}
		out.books = append(out.books, restore)
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return out, nil
}

// useCheckpoint puts a checkpoint read by readCheckpoint in place: the books, then
// every application's open clocks into the schedule. It returns the transitions due
// since the stop (after e.through, at or before now, and not in recorded) to record,
// and the applications to derive anew: those that changed since, and those with a
// clock that fell due since it was saved (their breach changes the books). Callers
// run it before anything is applied.
func (e *Engine) useCheckpoint(cp *restored, now time.Time, recorded map[string]bool) (due []Fired, redo []string) {
	for _, restore := range cp.books {
		restore()
	}
	changed := make(map[string]bool, len(cp.changed))
	for _, id := range cp.changed {
		changed[id] = true
	}
	redo = cp.changed
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = readClocks(NewCheckpointReader(cp.clocks), func(a *savedApp) { // read once already: no error
		if changed[a.id] {
			// Derived anew: its clocks as saved may have stopped since, and must not
			// fire meanwhile.
			return
		}
		app := interactions.Application{ID: a.id, RecruiterID: a.recruiter}
		d, _ := e.track(app, a.clocks, now, false, recorded)
		if i, ok := e.slots.find(a.id); ok {
			s := e.slots.at(i)
			for _, h := range a.fired {
				s.addFired(h)
			}
		}
		for _, c := range a.clocks {
			if c.DueAt.After(e.through) && !c.DueAt.After(now) {
				redo = append(redo, a.id)
				return
			}
		}
		for _, f := range d {
			if !slices.Contains(a.fired, hashID(f.ID)) {
				due = append(due, f)
			}
		}
	})
	return due, redo
}

// startFromCheckpoint ends a start from a checkpoint: it derives anew the
// applications useCheckpoint named (unless Applied tracked them meanwhile) and
// shows them to the observer, records what fell due, hands over what is pending,
// and then the engine is detecting. It may be run again after a failure.
func (e *Engine) startFromCheckpoint(ctx context.Context, due []Fired, redo []string, recorded map[string]bool, pending []Fired, now time.Time) error {
	due = slices.Clone(due)
	for lo := 0; lo < len(redo); lo += 512 {
		ids := redo[lo:min(lo+512, len(redo))]
		apps := make([]interactions.Application, len(ids))
		errs := make([]error, len(ids))
		each(len(ids), appReaders, func(i int) {
			apps[i], errs[i] = e.apps.Application(ctx, ids[i])
		})
		for i, app := range apps {
			if err := errs[i]; err != nil {
				var ie *interactions.Error
				if errors.As(err, &ie) && ie.Code == interactions.CodeNotFound {
					continue // a candidate without a nurture document, say
				}
				return err
			}
			d, _, err := e.trackAtStart(ctx, app, now, recorded)
			if err != nil {
				return err
			}
			due = append(due, d...)
		}
	}
	e.poke()
	if missing := slices.DeleteFunc(slices.Clone(due), func(f Fired) bool { return f.CandidateID != "" }); len(missing) > 0 {
		apps, err := e.applications(ctx, missing)
		if err != nil {
			return err
		}
		for i := range due {
			if app, ok := apps[due[i].ApplicationID]; ok && due[i].CandidateID == "" {
				due[i].CandidateID, due[i].JobID = app.CandidateID, app.JobID
			}
		}
	}
	return e.finishStart(ctx, due, pending, now)
}

// checkpointFor returns the checkpoint the last stop's note names, read and checked,
// when it may be used: nil otherwise (then the start rebuilds every application).
// After a clean stop it is used when the projector stopped clean at the mark the
// checkpoint saw; after a crash, with the applications changed since its mark
// derived anew, when ChangedSince can name them. Either way the policies, calendar
// and pools must be those it was derived with. Callers have loaded the environment
// and the pools.
func (e *Engine) checkpointFor(ctx context.Context, last cleanStop) *restored {
	cp := last.Checkpoint
	if e.mark == nil || cp.ID == "" {
		return nil
	}
	e.mu.Lock()
	pools := poolsDigest(e.env.Pools)
	version := e.version
	e.mu.Unlock()
	why := ""
	switch {
	case !last.Clean && e.changedSince == nil:
		why = "the last stop was not clean"
	case last.Version != version:
		why = "the policies or the calendar changed"
	case cp.Pools != pools:
		why = "the pools changed"
	}
	var changed []string
	if why == "" && last.Clean {
		mark, clean, err := e.mark(ctx)
		switch {
		case err != nil:
			why = err.Error()
		case !clean || !mark.Equal(cp.Mark):
			why = "the log moved on since"
		}
	} else if why == "" {
		var err error
		if changed, err = e.changedSince(ctx, cp.Mark); err != nil {
			why = err.Error()
		}
	}
	if why != "" {
		e.log.Info("sla: the checkpoint of the clocks is not used; rebuilding them", "why", why)
		return nil
	}
	started := time.Now()
	restored, err := e.readCheckpoint(ctx, cp)
	if err != nil {
		e.log.Warn("sla: the checkpoint of the clocks cannot be read; rebuilding them", "err", err)
		return nil
	}
	if len(changed) > maxChanged && len(changed) > restored.apps/2 {
		e.log.Info("sla: the checkpoint of the clocks is not used; rebuilding them", "why", "most applications changed since", "changed_since", len(changed))
		return nil
	}
	restored.changed = changed
	e.log.Info("sla: starting from the checkpoint of the clocks", "bytes", cp.Size, "clean", last.Clean,
		"changed_since", len(changed), "took", time.Since(started).Round(time.Millisecond))
	return restored
}

// uuid reads the 16 bytes of a UUID.
func (r *CheckpointReader) uuid() (u uuid.UUID) {
	copy(u[:], r.take(16))
	return u
}
