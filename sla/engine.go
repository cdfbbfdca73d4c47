package sla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goodwillhq/goodwill/interactions"
)

var (
	detectionLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "goodwill_sla_detection_seconds",
		Help:    "Time from a clock's warn or due moment to its transition being recorded.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	openClocks = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "goodwill_sla_open_clocks",
		Help: "Open SLA clocks the scheduler is watching.",
	})
	transitionsRecorded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sla_transitions_total",
		Help: "Clock transitions recorded, by state and whether they alert.",
	}, []string{"state", "alert"})
)

// Collectors returns the package's Prometheus collectors, for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{detectionLatency, openClocks, transitionsRecorded}
}

// Applications is what the engine reads of the interaction log's derived state.
type Applications interface {
	// EachApplication calls f for every stored application.
	EachApplication(ctx context.Context, f func(interactions.Application) error) error
	// Application returns one application's stored state.
	Application(ctx context.Context, id string) (interactions.Application, error)
	// JobDepartment returns the department of a job, "" when unknown.
	JobDepartment(ctx context.Context, jobID string) (string, error)
}

// Consumer takes recorded transitions (the alerts pipeline), several applications'
// at once, each application's in order. An error leaves them all to be handed over
// again at the next start, so taking one twice must be harmless.
type Consumer func(ctx context.Context, fs []Fired) error

// Engine keeps every open clock in memory, fires their warn and due transitions from
// a min-heap within milliseconds of their time, records each transition once, and
// answers clock queries. Derived state changes reach it through Applied.
type Engine struct {
	store    *Store
	apps     Applications
	log      *slog.Logger
	now      func() time.Time
	consumer Consumer
	stopped  func(ctx context.Context, clockIDs []string) error
	observer Observer
	owns     func(applicationID string) bool // nil: this process owns every application (replicas.go)
	inForce  *InForce                        // nil, or kept current with env and calendar
	mark     MarkFunc                        // nil: no checkpoint (checkpoint.go)
	// changedSince names the applications changed since a moment; nil: a crash
	// is followed by a full rebuild (checkpoint.go)
	changedSince func(ctx context.Context, since time.Time) ([]string, error)
	books        []Checkpointed // saved and restored with the clocks

	mu         sync.Mutex
	env        Env
	version    int64 // the number of the latest policy version in env
	calendar   Calendar
	slots      slots // applications with open clocks (openclocks.go)
	open       int   // open clocks in slots
	queue      queue
	overdue    map[uint32]struct{} // slots of applications with a clock past its warn time
	policies   interner            // policy ids of open clocks
	recruiters interner            // recruiter ids of applications with open clocks
	wake       chan struct{}
	// A clean stop notes that every transition up to swept was recorded and handed
	// over, so that the next start need not read which were (see Close).
	started    bool
	swept      time.Time           // the moment of the last sweep that recorded all that was due
	unclean    bool                // a handover or a sweep failed: the next start checks everything
	through    time.Time           // while Start rebuilds: transitions up to here are recorded
	live       map[string]struct{} // while Start rebuilds: applications Applied tracked
	rebuilding chan struct{}       // closed when a background rebuild ends (StartInBackground)
	stopping   chan struct{}
	closeOnce  sync.Once
	done       chan struct{}
}

// Config is what an engine is built from. Store, Apps, Log and Now are required; the
// rest may be left zero.
type Config struct {
	Store *Store
	Apps  Applications
	Log   *slog.Logger
	Now   func() time.Time
	// Consumer takes recorded transitions that may alert. Quiet transitions (Alert
	// false), and all of them without a consumer, are recorded already marked handled.
	Consumer Consumer
	// Stopped is told of clocks that stopped (the alerts pipeline resolves their alerts).
	Stopped func(ctx context.Context, clockIDs []string) error
	// Observer is told of derived clocks (the scores roll-ups).
	Observer Observer
	// Owns, when set, makes the engine one of several replicas: it records transitions
	// only of the applications Owns reports as this replica's (replicas.go).
	Owns func(applicationID string) bool
	// InForce, when set, is kept current with the policies and calendar in force, for
	// readers built before the engine (see InForce).
	InForce *InForce
	// Mark, when set, lets a clean stop save a checkpoint of the open clocks and of
	// Books, which the next start loads instead of reading every application when the
	// projector's mark shows that none changed since (checkpoint.go). Replicas (Owns
	// set) neither save nor load one: they rebuild per partition as they take it over.
	Mark MarkFunc
	// Books are the state the Observer fills, saved and restored with the checkpoint.
	// Every book the Observer feeds must be here, or none may be: a start from a
	// checkpoint shows the Observer only the applications that changed since.
	Books []Checkpointed
	// ChangedSince, when set with Mark, returns the applications that interactions
	// received since a moment may have changed (interactions.Store.ApplicationsSince):
	// a start after a crash then uses the last clean stop's checkpoint and derives
	// only those anew, instead of every application.
	ChangedSince func(ctx context.Context, since time.Time) ([]string, error)
}

// NewEngine returns an engine; Start loads the store and runs the scheduler.
func NewEngine(cfg Config) *Engine {
	return &Engine{
		store:    cfg.Store,
		apps:     cfg.Apps,
		log:      cfg.Log,
		now:      cfg.Now,
		consumer: cfg.Consumer,
		stopped:  cfg.Stopped,
		observer: cfg.Observer,
		owns:     cfg.Owns,
		inForce:  cfg.InForce,
		mark:     cfg.Mark,
		books:    cfg.Books,

		changedSince: cfg.ChangedSince,
		overdue:      map[uint32]struct{}{},
		wake:         make(chan struct{}, 1),
		stopping:     make(chan struct{}),
		done:         make(chan struct{}),
	}
}

// Observer is told of every application's clocks whenever they are derived: at
// start, after new events, after a policy or calendar change, and when a clock
// becomes overdue. The scores roll-ups follow clocks this way. It must be quick and
// must not call back into the engine.
type Observer func(app interactions.Application, clocks []Clock, now time.Time)

func (e *Engine) observe(app interactions.Application, clocks []Clock, now time.Time) {
	if e.observer != nil {
		e.observer(app, clocks, now)
	}
}

// Start loads policies and the calendar, rebuilds the open clocks of every
// application, records transitions missed while the service was down, hands over
// transitions the consumer never took, and runs the scheduler. The scheduler runs
// while the clocks are rebuilt, so a clock that comes due during a long rebuild fires
// on time once its application is rebuilt. It returns once Detecting is true.
func (e *Engine) Start(ctx context.Context) error {
	rebuild, err := e.begin(ctx)
	if err != nil {
		return err
	}
	if err := rebuild(ctx); err != nil {
		e.Close()
		return err
	}
	return nil
}

// StartInBackground is Start returning as soon as the policies and the calendar are
// loaded and the scheduler runs: the open clocks are rebuilt in the background, and
// Detecting reports when they all are. Meanwhile derived state changes (Applied) are
// tracked as usual and clock queries answer from the clocks rebuilt so far. A failed
// rebuild is retried every second until Close.
func (e *Engine) StartInBackground(ctx context.Context) error {
	rebuild, err := e.begin(ctx)
	if err != nil {
		return err
	}
	e.rebuilding = make(chan struct{})
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		<-e.stopping
		cancel()
	}()
	go func() {
		defer close(e.rebuilding)
		defer cancel()
		for {
			err := rebuild(bg)
			if err == nil {
				return
			}
			e.log.Warn("sla: rebuilding the open clocks failed; retrying", "err", err)
			select {
			case <-e.stopping:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return nil
}

// Detecting reports whether every open clock is in the schedule, so that each
// transition is detected when it comes due: false while the start rebuilds them.
func (e *Engine) Detecting() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started
}

// begin loads what the rebuild needs and runs the scheduler; the rebuild it returns
// derives every application's clocks and may be run again after a failure.
func (e *Engine) begin(ctx context.Context) (rebuild func(context.Context) error, err error) {
	if err := e.loadEnv(ctx); err != nil {
		return nil, err
	}
	if err := e.loadPools(ctx); err != nil {
		return nil, err
	}
	// Read before the scheduler runs, so that what it records is not handed over twice.
	// A shared engine owns nothing yet: taking over partitions does this per partition.
	var recorded map[string]bool
	var pending []Fired
	var cp *restored
	if e.owns == nil {
		last, err := e.store.takeCleanStop(ctx)
		if err != nil {
			return nil, err
		}
		// A checkpoint saved with a clean stop, with the applications changed since
		// (after a crash), stands for reading them all (checkpoint.go).
		cp = e.checkpointFor(ctx, last)
		// A policy or calendar changed since may move clocks into the past: then
		// every transition is checked.
		switch {
		case last.Clean && last.Version == e.version:
			e.through = last.Through // everything up to it is recorded and handed over
		case cp != nil:
			// After a crash, from the checkpoint of the last clean stop (under the
			// version in force): everything up to that stop was recorded and handed
			// over then; what was recorded since is checked.
			e.through = last.Through
			if recorded, pending, err = e.store.recordedSince(ctx, last.Through); err != nil {
				return nil, err
			}
		default:
			if recorded, pending, err = e.store.recorded(ctx); err != nil {
				return nil, interactions.Unavailable("read transitions", err)
			}
		}
	}
	finish := func(ctx context.Context) error { return e.rebuild(ctx, recorded, pending) }
	e.mu.Lock()
	e.live = map[string]struct{}{}
	e.mu.Unlock()
	// The checkpoint is put in place before the scheduler runs and before anything is
	// applied, so nothing it restores is older than what Applied sees.
	if cp != nil {
		now := e.now()
		due, redo := e.useCheckpoint(cp, now, recorded)
		finish = func(ctx context.Context) error {
			return e.startFromCheckpoint(ctx, due, redo, recorded, pending, now)
		}
	}
	go e.run()
	return finish, nil
}

// rebuild derives the open clocks of every stored application into the schedule,
// records the transitions due, and hands over those pending; then Detecting is true.
// An application that Applied tracked meanwhile is left as Applied saw it, which is
// at least as recent as what the rebuild read.
func (e *Engine) rebuild(ctx context.Context, recorded map[string]bool, pending []Fired) error {
	now := e.now()
	var due []Fired
	err := e.apps.EachApplication(ctx, func(app interactions.Application) error {
		d, sooner, err := e.trackAtStart(ctx, app, now, recorded)
		if err != nil {
			return err
		}
		due = append(due, d...)
		if sooner {
			e.poke()
		}
		return nil
	})
	if err != nil {
		return interactions.Unavailable("rebuild clocks", err)
	}
	if err := e.finishStart(ctx, due, pending, now); err != nil {
		return err
	}
	if e.owns != nil {
		go e.watchVersions()
	}
	return nil
}

// trackAtStart derives app's clocks and tracks them, as a start does, unless Applied
// tracked the application meanwhile (what it saw is at least as recent). It returns
// the transitions due and whether the schedule's next deadline moved sooner.
func (e *Engine) trackAtStart(ctx context.Context, app interactions.Application, now time.Time, recorded map[string]bool) ([]Fired, bool, error) {
	clocks, err := e.derive(ctx, app, now)
	if err != nil {
		return nil, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.live[app.ID]; ok {
		return nil, false, nil
	}
	e.observe(app, clocks, now)
	head := e.nextAt()
	due, _ := e.track(app, clocks, now, false, recorded)
	return due, e.nextAt() < head, nil
}

// finishStart ends a start: it records the transitions due, hands over those pending, and
// then every open clock is in the schedule, so Detecting is true.
func (e *Engine) finishStart(ctx context.Context, due, pending []Fired, now time.Time) error {
	if err := e.recordAll(ctx, due, now); err != nil {
		return err
	}
	e.markFired(due)
	e.handOver(ctx, pending)
	e.mu.Lock()
	e.through, e.started, e.live = time.Time{}, true, nil
	e.mu.Unlock()
	e.noteSwept(now) // everything due at the start is recorded and handed over
	return nil
}

// Close stops the scheduler. It may be called more than once. When everything due
// was recorded and handed over, it notes so in the store for the next start.
func (e *Engine) Close() {
	first := false
	e.closeOnce.Do(func() { close(e.stopping); first = true })
	<-e.done
	if e.rebuilding != nil {
		<-e.rebuilding
	}
	e.mu.Lock()
	clean := first && e.owns == nil && e.started && !e.unclean && !e.swept.IsZero()
	note := cleanStop{Through: e.swept, Version: e.version}
	e.mu.Unlock()
	if !clean {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	note.Checkpoint = e.writeCheckpoint(ctx)
	if err := e.store.saveCleanStop(ctx, note); err != nil {
		e.log.Warn("sla: noting a clean stop failed; the next start checks every transition", "err", err)
	}
}

// noteSwept records that every transition due at or before now was recorded and
// handed over (once the start's rebuild is done: before, some clocks are not known).
func (e *Engine) noteSwept(now time.Time) {
	e.mu.Lock()
	if e.started && now.After(e.swept) {
		e.swept = now
	}
	e.mu.Unlock()
}

func (e *Engine) noteUnclean() {
	e.mu.Lock()
	e.unclean = true
	e.mu.Unlock()
}

// loadEnv reads policies and the calendar with their history, recording them as a new
// version in force from now if they changed, and compiles them.
func (e *Engine) loadEnv(ctx context.Context) error {
	versions, err := e.store.Versions(ctx, e.now())
	if err != nil {
		return err
	}
	env, err := makeHistory(versions)
	if err != nil {
		return err
	}
	e.mu.Lock()
	env.Pools = e.env.Pools
	e.env, e.calendar = env, versions[len(versions)-1].Calendar
	e.version = versions[len(versions)-1].Seq
	if e.inForce != nil { // under e.mu, so that two loads publish in order
		e.inForce.set(env.Policies, e.calendar)
	}
	e.mu.Unlock()
	return nil
}

// makeHistory compiles versions (oldest first, at least one) into the Env of the
// latest, with the others as its Earlier. Versions that share a calendar share its
// compiled form.
func makeHistory(versions []EnvVersion) (Env, error) {
	var earlier []Env
	var prev *Calendar
	var prevEnv Env
	for i := range versions {
		v := &versions[i]
		var env Env
		if prev != nil && sameCalendar(*prev, v.Calendar) {
			env = Env{Policies: v.Policies, Calendars: prevEnv.Calendars}
		} else {
			var err error
			if env, err = makeEnv(v.Policies, v.Calendar); err != nil {
				return Env{}, fmt.Errorf("policy version %d: %w", v.Seq, err)
			}
		}
		env.Since = v.From
		if i == len(versions)-1 {
			env.Earlier = earlier
			return env, nil
		}
		earlier = append(earlier, env)
		prev, prevEnv = &v.Calendar, env
	}
	return Env{}, errors.New("no policy version")
}

func sameCalendar(a, b Calendar) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func makeEnv(policies []Policy, cal Calendar) (Env, error) {
	bc, err := cal.Compile()
	if err != nil {
		return Env{}, err
	}
	return Env{
		Policies:  policies,
		Calendars: map[string]BusinessClock{CalendarBusiness: bc, Calendar24x7: TwentyFourSeven()},
	}, nil
}

// derive computes an application's clocks with the current policies and calendar.
func (e *Engine) derive(ctx context.Context, app interactions.Application, now time.Time) ([]Clock, error) {
	e.mu.Lock()
	env := e.env
	e.mu.Unlock()
	return e.deriveWith(ctx, env, app, now)
}

func (e *Engine) deriveWith(ctx context.Context, env Env, app interactions.Application, now time.Time) ([]Clock, error) {
	if interactions.IsNurture(app.ID) {
		return DeriveNurture(app.ID, app.Events, env.Pools, env.Calendars, now), nil
	}
	if app.JobID != "" && usesDepartments(env) {
		dept, err := e.apps.JobDepartment(ctx, app.JobID)
		if err != nil {
			return nil, err
		}
		env.Department = dept
	}
	return Derive(app.Events, env, now), nil
}

// usesDepartments reports whether a policy of env, or of an earlier version, is
// scoped by department.
func usesDepartments(env Env) bool {
	for _, p := range env.Policies {
		if len(p.Scope.Departments) > 0 {
			return true
		}
	}
	return slices.ContainsFunc(env.Earlier, usesDepartments)
}

// Applied re-derives the clocks of applications whose events changed. It is the
// projector's consumer: it runs within a second of the interactions' 201.
func (e *Engine) Applied(ctx context.Context, apps []interactions.Application, now time.Time) error {
	var due []Fired
	var stopped []string
	for _, app := range apps {
		clocks, err := e.derive(ctx, app, now)
		if err != nil {
			return err
		}
		e.observe(app, clocks, now)
		e.mu.Lock()
		if e.live != nil {
			e.live[app.ID] = struct{}{} // newer than what a running rebuild read
		}
		d, s := e.track(app, clocks, now, false, nil)
		e.mu.Unlock()
		due, stopped = append(due, d...), append(stopped, s...)
	}
	e.poke()
	if err := e.recordAll(ctx, due, now); err != nil {
		return err
	}
	e.markFired(due)
	return e.tellStopped(ctx, stopped)
}

// markFired remembers recorded transitions in their application's entry, so that the
// next derivation of that application does not insert them again.
func (e *Engine) markFired(due []Fired) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range due {
		if i, ok := e.slots.find(f.ApplicationID); ok {
			e.slots.at(i).addFired(hashID(f.ID))
		}
	}
}

func (e *Engine) tellStopped(ctx context.Context, clockIDs []string) error {
	if e.stopped == nil || len(clockIDs) == 0 {
		return nil
	}
	return e.stopped(ctx, clockIDs)
}

// track replaces an application's open clocks in the schedule. It returns the
// transitions already due (at or before now) to record; quiet ones do not alert, nor
// do those at or before the moment the policies in force took effect (a change may
// have moved them into the past, and a restart must not make them alert). recorded,
// if not nil, lists transitions known to be recorded already. Callers hold e.mu.
func (e *Engine) track(app interactions.Application, clocks []Clock, now time.Time, quiet bool, recorded map[string]bool) (due []Fired, stopped []string) {
	since := e.env.Since
	i, tracked := e.slots.find(app.ID)
	var a *appClocks
	var wasOpen map[string]bool
	var fired []uint64
	before := 0
	if tracked {
		a = e.slots.at(i)
		a.gen++
		before = len(a.clocks)
		wasOpen = make(map[string]bool, len(a.clocks))
		for j := range a.clocks {
			wasOpen[e.clock(a, j).ClockID] = true
		}
		if a.extra != nil {
			fired = a.extra.fired
		}
	}
	n := 0
	for _, c := range clocks {
		if c.Open() {
			n++
		}
	}
	var kept []openClock
	switch {
	case tracked && cap(a.clocks) == n:
		kept = a.clocks[:0]
	case n > 0:
		kept = make([]openClock, 0, n)
	}
	var rare []rareClock
	for _, c := range clocks {
		if !c.Open() && wasOpen[c.ClockID] {
			stopped = append(stopped, c.ClockID)
		}
		delete(wasOpen, c.ClockID)
		for _, t := range Transitions(c) {
			if t.At.After(now) || !t.At.After(e.through) {
				continue
			}
			f := e.fired(app.ID, app.RecruiterID, c, t, quiet || !t.At.After(since))
			f.CandidateID, f.JobID = app.CandidateID, app.JobID
			if slices.Contains(fired, hashID(f.ID)) {
				continue
			}
			if (recorded == nil || !recorded[f.ID]) && e.owned(app.ID) {
				due = append(due, f)
			}
		}
		if c.Open() {
			oc, r := e.compact(c)
			if r != nil {
				r.idx = len(kept)
				rare = append(rare, *r)
			}
			kept = append(kept, oc)
		}
	}
	for id := range wasOpen { // gone altogether (a late event changed history)
		stopped = append(stopped, id)
	}
	e.open += n - before
	openClocks.Add(float64(n - before))
	if n == 0 {
		if tracked {
			delete(e.overdue, i)
			e.slots.release(i)
		}
		return due, stopped
	}
	if !tracked {
		i = e.slots.take(app.ID)
		a = e.slots.at(i)
		a.gen++
	}
	a.clocks = kept
	a.recruiter = e.recruiters.id(app.RecruiterID)
	switch {
	case rare != nil:
		a.extra = &appExtra{fired: fired, rare: rare}
	case fired != nil:
		a.extra = &appExtra{fired: fired}
	default:
		a.extra = nil
	}
	j := 0
	for _, c := range clocks {
		if !c.Open() {
			continue
		}
		if next, ok := c.NextTransition(now); ok {
			e.schedule(next, i, a.gen, j)
		}
		j++
	}
	e.refreshOverdue(i, a, now)
	return due, stopped
}

func (e *Engine) refreshOverdue(i uint32, a *appClocks, now time.Time) {
	for _, c := range a.clocks {
		if now.UnixMilli() >= c.warnAt {
			e.overdue[i] = struct{}{}
			return
		}
	}
	delete(e.overdue, i)
}

func (e *Engine) fired(appID, recruiterID string, c Clock, t Transition, quiet bool) Fired {
	if c.Metric == MetricNurture {
		var alerts bool
		recruiterID, alerts = e.nurtureRecipient(c)
		quiet = quiet || !alerts
	}
	return Fired{
		ID:            c.ClockID + "|" + string(t.State),
		ClockID:       c.ClockID,
		ApplicationID: appID,
		RecruiterID:   recruiterID,
		PolicyID:      c.PolicyID,
		Metric:        c.Metric,
		InterviewID:   c.InterviewID,
		State:         t.State,
		At:            t.At,
		DueAt:         c.DueAt,
		StartedBy:     c.StartedBy,
		Alert:         t.Alert && !quiet,
	}
}

// handoverChunk is how many transitions one call of the consumer takes at most: a
// burst of breaches reaches the alerts pipeline in a few calls, each written with one
// bulk insert there.
const handoverChunk = 500

// recordAll records transitions and hands the new ones over. On an error it still
// hands over those it recorded, and the caller may try again: what was recorded is not
// recorded, nor handed over, twice.
func (e *Engine) recordAll(ctx context.Context, due []Fired, now time.Time) error {
	if len(due) == 0 {
		return nil
	}
	fs := slices.Clone(due)
	for i := range fs {
		fs[i].Partition = interactions.Partition(fs[i].ApplicationID)
		fs[i].RecordedAt = now.UTC().Truncate(time.Millisecond)
		fs[i].Handled = e.consumer == nil || !fs[i].Alert
	}
	isNew, err := e.store.record(ctx, fs)
	if err != nil {
		e.noteUnclean() // retried, but the next start checks everything
	}
	fresh := fs[:0]
	for i, f := range fs {
		if !isNew[i] {
			continue
		}
		detectionLatency.Observe(max(now.Sub(f.At), 0).Seconds())
		transitionsRecorded.WithLabelValues(string(f.State), boolLabel(f.Alert)).Inc()
		if !f.Handled {
			fresh = append(fresh, f)
		}
	}
	if e.consumer != nil {
		e.handOver(ctx, fresh)
	}
	return err
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// handOver gives recorded transitions to the consumer, in chunks of up to
// handoverChunk, and marks those it took handled. A transition the consumer
// failed on is left to the next start.
func (e *Engine) handOver(ctx context.Context, fs []Fired) {
	if len(fs) == 0 {
		return
	}
	var taken []string
	if e.consumer == nil {
		for _, f := range fs {
			taken = append(taken, f.ID)
		}
	} else {
		taken = e.consumeAll(ctx, fs)
	}
	if len(taken) < len(fs) {
		e.noteUnclean()
	}
	if err := e.store.markHandled(ctx, taken); err != nil {
		e.noteUnclean()
		e.log.Warn("sla: marking transitions handled failed; they are handed over again at the next start", "transitions", len(taken), "err", err)
	}
}

// consumeAll hands fs to the consumer in chunks that keep each application's
// transitions together and in order, and returns the ids the consumer took.
func (e *Engine) consumeAll(ctx context.Context, fs []Fired) []string {
	byApp := map[string][]Fired{}
	var order []string
	for _, f := range fs {
		if _, ok := byApp[f.ApplicationID]; !ok {
			order = append(order, f.ApplicationID)
		}
		byApp[f.ApplicationID] = append(byApp[f.ApplicationID], f)
	}
	taken := make([]string, 0, len(fs))
	var chunk []Fired
	hand := func() {
		if len(chunk) == 0 {
			return
		}
		if err := e.consumer(ctx, chunk); err != nil {
			e.log.Warn("sla: the consumer failed; it gets the transitions again at the next start", "transitions", len(chunk), "err", err)
		} else {
			for _, f := range chunk {
				taken = append(taken, f.ID)
			}
		}
		chunk = nil
	}
	for _, id := range order {
		if len(chunk) > 0 && len(chunk)+len(byApp[id]) > handoverChunk {
			hand()
		}
		chunk = append(chunk, byApp[id]...)
	}
	hand()
	return taken
}

// each calls f(0) … f(n-1), up to workers at once, and returns when all are done.
func each(n, workers int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// poke wakes the scheduler to look at the queue's head again.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run is the scheduler: it sleeps until the earliest transition, records what is due,
// and sleeps again. An idle engine with any number of open clocks costs no CPU.
func (e *Engine) run() {
	defer close(e.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		wait := time.Hour
		if len(e.queue) > 0 {
			wait = time.Until(time.UnixMilli(e.queue[0].at()))
		}
		e.mu.Unlock()
		timer.Reset(max(wait, 0))
		select {
		case <-e.stopping:
			return
		case <-e.wake:
			continue
		case <-timer.C:
		}
		e.fireDue()
	}
}

// fireDue records every transition whose time has come.
func (e *Engine) fireDue() {
	now := e.now()
	nowMs := now.UnixMilli()
	var due, mirrored []Fired
	e.mu.Lock()
	for len(e.queue) > 0 && e.queue[0].at() <= nowMs {
		en := e.queue.pop()
		a := e.slots.at(en.app)
		if en.gen != a.gen {
			continue // the application's clocks were derived anew since
		}
		c := e.clock(a, en.idx())
		t := Transition{State: StateWarning, At: time.UnixMilli(en.at()).UTC()}
		if t.At.Equal(c.DueAt) {
			t.State = StateBreached
		}
		t.Alert = Alerts(t.At, c)
		f := e.fired(a.id, e.recruiters.name(a.recruiter), c, t, false)
		if e.owned(a.id) {
			due = append(due, f)
		} else if t.State == StateBreached {
			mirrored = append(mirrored, f) // its owner records it; the roll-ups here follow
		}
		if next, ok := c.NextTransition(t.At); ok {
			e.schedule(next, en.app, en.gen, en.idx())
		}
		e.overdue[en.app] = struct{}{}
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(mirrored) > 0 && e.observer != nil {
		if apps, err := e.applications(ctx, mirrored); err == nil {
			e.observeBreaches(ctx, mirrored, apps, now)
		}
	}
	if len(due) == 0 {
		e.noteSwept(now)
		return
	}
	for {
		apps, err := e.applications(ctx, due)
		if err == nil {
			for i := range due {
				app := apps[due[i].ApplicationID]
				due[i].CandidateID, due[i].JobID = app.CandidateID, app.JobID
			}
			err = e.recordAll(ctx, due, now)
		}
		if err == nil {
			e.markFired(due)
			e.observeBreaches(ctx, due, apps, now)
			e.noteSwept(now)
			return
		}
		e.log.Warn("sla: recording transitions failed; retrying", "err", err)
		select {
		case <-e.stopping:
			e.noteUnclean()
			return
		case <-time.After(time.Second):
		}
	}
}

// appReaders is how many applications fireDue reads at once.
const appReaders = 8

// applications reads the applications of transitions fired by the scheduler, each
// once: the scheduler keeps only what scheduling needs in memory, and the candidate,
// the job and (for the observer) the events are read back for a burst together.
func (e *Engine) applications(ctx context.Context, due []Fired) (map[string]interactions.Application, error) {
	var ids []string
	seen := map[string]bool{}
	for _, f := range due {
		if !seen[f.ApplicationID] {
			seen[f.ApplicationID] = true
			ids = append(ids, f.ApplicationID)
		}
	}
	apps := make([]interactions.Application, len(ids))
	errs := make([]error, len(ids))
	each(len(ids), appReaders, func(i int) {
		apps[i], errs[i] = e.apps.Application(ctx, ids[i])
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	out := make(map[string]interactions.Application, len(ids))
	for i, id := range ids {
		out[id] = apps[i]
	}
	return out, nil
}

// observeBreaches shows the observer the clocks of applications that have a clock
// newly overdue: a breach changes scores without any new event.
func (e *Engine) observeBreaches(ctx context.Context, due []Fired, apps map[string]interactions.Application, now time.Time) {
	if e.observer == nil {
		return
	}
	seen := map[string]bool{}
	for _, f := range due {
		if f.State != StateBreached || seen[f.ApplicationID] {
			continue
		}
		seen[f.ApplicationID] = true
		app := apps[f.ApplicationID]
		clocks, err := e.derive(ctx, app, now)
		if err != nil {
			e.log.Warn("sla: re-deriving a breached application for its observer failed", "application", f.ApplicationID, "err", err)
			continue
		}
		e.observe(app, clocks, now)
	}
}

// Clocks derives an application's clocks now, with explanations.
func (e *Engine) Clocks(ctx context.Context, app interactions.Application) ([]Clock, error) {
	return e.derive(ctx, app, e.now())
}

// OverdueItem is a clock past its warn time, for the recruiter queue.
type OverdueItem struct {
	Clock
	RecruiterID    string
	OverdueSeconds int64
}

// OverdueFilter narrows Overdue. Empty fields match everything.
type OverdueFilter struct {
	RecruiterIDs []string // any of these
	Metric       Metric
	State        State // StateWarning or StateBreached
}

// Overdue returns open clocks in warning or breached, most overdue first: breached
// clocks by how long past due, then warnings by how close to due.
func (e *Engine) Overdue(f OverdueFilter) []OverdueItem {
	now := e.now()
	e.mu.Lock()
	var out []OverdueItem
	for i := range e.overdue {
		a := e.slots.at(i)
		appRecruiter := e.recruiters.name(a.recruiter)
		for j := range a.clocks {
			c := e.clock(a, j)
			recruiterID := appRecruiter
			if c.Metric == MetricNurture {
				recruiterID, _ = e.nurtureRecipient(c)
			}
			if len(f.RecruiterIDs) > 0 && !slices.Contains(f.RecruiterIDs, recruiterID) {
				continue
			}
			st := c.StateAt(now)
			if st == StateRunning || (f.State != "" && st != f.State) || (f.Metric != "" && c.Metric != f.Metric) {
				continue
			}
			c.State = st
			out = append(out, OverdueItem{
				Clock: c, RecruiterID: recruiterID,
				OverdueSeconds: int64(now.Sub(c.DueAt) / time.Second),
			})
		}
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b OverdueItem) int {
		if a.DueAt.Equal(b.DueAt) {
			return strings.Compare(a.ClockID, b.ClockID)
		}
		return a.DueAt.Compare(b.DueAt)
	})
	return out
}

// DueBy returns the open clocks of the recruiters named (their applications' latest
// recruiter) that are due at or before until — running, warning or breached — most
// overdue first, as Overdue orders them. It looks at every open clock, so it is for
// daily work such as the digest, not for requests.
func (e *Engine) DueBy(recruiterIDs []string, until time.Time) []OverdueItem {
	if len(recruiterIDs) == 0 {
		return nil
	}
	now := e.now()
	e.mu.Lock()
	want := map[uint32]bool{}
	for i, name := range e.recruiters.names {
		if slices.Contains(recruiterIDs, name) {
			want[uint32(i)] = true
		}
	}
	var out []OverdueItem
	for i := uint32(0); i < e.slots.used && len(want) > 0; i++ {
		a := e.slots.at(i)
		if a.id == "" || !want[a.recruiter] {
			continue
		}
		for j := range a.clocks {
			c := e.clock(a, j)
			if c.DueAt.IsZero() || c.DueAt.After(until) {
				continue
			}
			c.State = c.StateAt(now)
			out = append(out, OverdueItem{Clock: c, RecruiterID: e.recruiters.name(a.recruiter),
				OverdueSeconds: int64(now.Sub(c.DueAt) / time.Second)})
		}
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b OverdueItem) int {
		if a.DueAt.Equal(b.DueAt) {
			return strings.Compare(a.ClockID, b.ClockID)
		}
		return a.DueAt.Compare(b.DueAt)
	})
	return out
}

// OpenClocks returns how many open clocks the scheduler watches.
func (e *Engine) OpenClocks() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.open
}

// Policies returns the policies in force.
func (e *Engine) Policies() []Policy {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.env.Policies)
}

// Calendar returns the business calendar in force.
func (e *Engine) Calendar() Calendar {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.calendar
	if c.ExtraHolidays == nil {
		c.ExtraHolidays = []string{}
	}
	return c
}

// ErrBuiltIn is returned when deleting a built-in policy.
var ErrBuiltIn = interactions.Errorf(interactions.CodeConflict, "built-in policies can be changed and disabled, not deleted")

// PutPolicy validates and saves a policy, then recomputes open clocks with it from
// their start. Transitions the change moves into the past are recorded without
// alerting; closed clocks keep their outcome.
func (e *Engine) PutPolicy(ctx context.Context, p Policy) (Policy, error) {
	p = p.WithDefaults()
	if errs := p.Validate(); len(errs) > 0 {
		return p, interactions.Invalid(errs...)
	}
	policies := e.Policies()
	p.BuiltIn = false
	for _, old := range policies {
		if old.ID == p.ID && old.BuiltIn {
			if old.Metric != p.Metric {
				return p, interactions.Invalid(FieldError{Field: "metric", Message: "a built-in policy keeps its metric"})
			}
			p.BuiltIn = true
		}
	}
	if err := e.store.SavePolicy(ctx, p); err != nil {
		return p, err
	}
	return p, e.Reload(ctx)
}

// DeletePolicy removes a policy that is not built in, then recomputes open clocks.
func (e *Engine) DeletePolicy(ctx context.Context, id string) error {
	for _, p := range e.Policies() {
		if p.ID == id {
			if p.BuiltIn {
				return ErrBuiltIn
			}
			if err := e.store.DeletePolicy(ctx, id); err != nil {
				return err
			}
			return e.Reload(ctx)
		}
	}
	return interactions.Errorf(interactions.CodeNotFound, "no policy %q", id)
}

// PutCalendar validates and saves the business calendar, then recomputes open clocks.
func (e *Engine) PutCalendar(ctx context.Context, c Calendar) error {
	if errs := c.Validate(); len(errs) > 0 {
		return interactions.Invalid(errs...)
	}
	if err := e.store.SaveCalendar(ctx, c); err != nil {
		return err
	}
	return e.Reload(ctx)
}

// Reload re-reads policies and the calendar and, if they changed, records them as a
// new version in force from now; then it recomputes every application's open clocks
// from their start under the new version. Transitions that land in the past are
// recorded without alerting; closed clocks keep the outcome they had under the version
// in force when they stopped.
func (e *Engine) Reload(ctx context.Context) error {
	if err := e.loadEnv(ctx); err != nil {
		return err
	}
	return e.rederive(ctx, nil, "recompute clocks")
}

// rederive recomputes the clocks of every application (of those keep accepts, when it
// is not nil) from their start, records the transitions that fall due and tells of
// the clocks that stopped. what names the work in a store failure.
func (e *Engine) rederive(ctx context.Context, keep func(id string) bool, what string) error {
	now := e.now()
	var due []Fired
	var stopped []string
	err := e.apps.EachApplication(ctx, func(app interactions.Application) error {
		if keep != nil && !keep(app.ID) {
			return nil
		}
		clocks, err := e.derive(ctx, app, now)
		if err != nil {
			return err
		}
		e.observe(app, clocks, now)
		e.mu.Lock()
		d, s := e.track(app, clocks, now, true, nil)
		e.mu.Unlock()
		due, stopped = append(due, d...), append(stopped, s...)
		return nil
	})
	if err != nil {
		return interactions.Unavailable(what, err)
	}
	e.poke()
	if err := e.recordAll(ctx, due, now); err != nil {
		return err
	}
	e.markFired(due)
	return e.tellStopped(ctx, stopped)
}

// Moved is one open clock whose deadline a change would move.
type Moved struct {
	Before Clock  `json:"before"`
	After  *Clock `json:"after"` // nil when the change removes the clock
}

// Preview computes how a policy or calendar change would move open clocks, changing
// nothing: the number moved and the first 100. Closed clocks never move.
func (e *Engine) Preview(ctx context.Context, policy *Policy, cal *Calendar) (int, []Moved, error) {
	e.mu.Lock()
	cur, curCal := e.env, e.calendar
	e.mu.Unlock()
	// Open clocks follow the policies in force alone, and closed clocks never move:
	// the earlier versions do not matter here.
	cur.Earlier = nil
	policies := slices.Clone(cur.Policies)
	if policy != nil {
		p := policy.WithDefaults()
		if errs := p.Validate(); len(errs) > 0 {
			return 0, nil, interactions.Invalid(prefixed("policy.", errs)...)
		}
		i := slices.IndexFunc(policies, func(q Policy) bool { return q.ID == p.ID })
		if i >= 0 {
			policies[i] = p
		} else {
			policies = append(policies, p)
		}
	}
	newCal := curCal
	if cal != nil {
		if errs := cal.Validate(); len(errs) > 0 {
			return 0, nil, interactions.Invalid(prefixed("calendar.", errs)...)
		}
		newCal = *cal
	}
	next, err := makeEnv(policies, newCal)
	if err != nil {
		return 0, nil, err
	}
	now := e.now()
	n := 0
	var moved []Moved
	err = e.apps.EachApplication(ctx, func(app interactions.Application) error {
		before, err := e.deriveWith(ctx, cur, app, now)
		if err != nil {
			return err
		}
		after, err := e.deriveWith(ctx, next, app, now)
		if err != nil {
			return err
		}
		byID := map[string]Clock{}
		for _, c := range after {
			byID[c.ClockID] = c
		}
		for _, b := range before {
			if !b.Open() {
				continue
			}
			a, ok := byID[b.ClockID]
			if ok && a.DueAt.Equal(b.DueAt) && a.WarnAt.Equal(b.WarnAt) && a.Open() {
				continue
			}
			n++
			if len(moved) < 100 {
				m := Moved{Before: b}
				if ok {
					m.After = &a
				}
				moved = append(moved, m)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, interactions.Unavailable("preview", err)
	}
	return n, moved, nil
}

func prefixed(prefix string, errs []FieldError) []FieldError {
	out := make([]FieldError, len(errs))
	for i, e := range errs {
		out[i] = FieldError{Field: prefix + e.Field, Message: e.Message}
	}
	return out
}
