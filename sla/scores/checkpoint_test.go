package scores

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

// checkpointScenario is applications of every kind the book counts: stages, surveys,
// interviews, offers, rejections, hires with employee ids and referrals by them.
func checkpointScenario(seed uint64, n int, now time.Time) []app {
	rng := rand.New(rand.NewPCG(seed, 7))
	start := now.AddDate(0, -3, 0)
	var apps []app
	for i := range n {
		a := app{id: "app" + strconv.Itoa(i), recruiter: "rec" + strconv.Itoa(i%5), job: "job" + strconv.Itoa(i%7)}
		at := start.Add(time.Duration(rng.Int64N(int64(80 * 24 * time.Hour))))
		referrer := ""
		if rng.IntN(4) == 0 {
			referrer = "E" + strconv.Itoa(rng.IntN(20))
		}
		a.steps = append(a.steps, step{kind: evReceived, when: at, opts: []evOpt{attributed([]string{"LinkedIn", "careers", ""}[i%3], "", referrer)}})
		next := func(k interactions.Kind, opts ...evOpt) bool {
			at = at.Add(time.Duration(rng.Int64N(int64(6 * 24 * time.Hour))))
			if !at.Before(now) {
				return false
			}
			a.steps = append(a.steps, step{kind: k, when: at, opts: opts})
			return true
		}
		func() {
			if rng.IntN(5) == 0 || !next(evMessage) {
				return
			}
			next(evStage, stage("screen"+strconv.Itoa(i%3)))
			if rng.IntN(3) == 0 {
				next(evSurvey, score(rng.IntN(11)))
			}
			if rng.IntN(2) == 0 || !next(evScheduled, interview("i"+a.id, "")) {
				return
			}
			if rng.IntN(2) == 0 || !next(evOffer) {
				return
			}
			if rng.IntN(3) == 0 {
				next(evRejected, notified())
			} else {
				next(evHired, employeeID("E"+strconv.Itoa(i%20)))
			}
		}()
		apps = append(apps, a)
	}
	return apps
}

// everything is every query's answer, as JSON, for comparing two books.
func everything(t *testing.T, b *Book, now time.Time) string {
	t.Helper()
	q := Query{}
	var all []any
	for _, by := range []GroupBy{ByOrg, ByRecruiter, ByJob, ByTeam, ByAttributionSource, ByCampaign} {
		q.GroupBy = by
		all = append(all, b.Scores(q, now))
	}
	q.GroupBy = ""
	all = append(all, b.Sentiment(q, now), b.Weekly(q, now), b.HeatMap(q), b.Funnel(q, now))
	q.Recruiters = []string{"rec1", "rec3"}
	all = append(all, b.Scores(Query{GroupBy: ByJob, Recruiters: q.Recruiters}, now), b.Funnel(q, now))
	out, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestBookCheckpoint: a book restored from a checkpoint answers every query as the
// book saved does, replacing what it held, and goes on alike as applications change
// (the referral loop included); a damaged checkpoint is refused without changing it.
func TestBookCheckpoint(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	apps := checkpointScenario(1, 400, now)
	hire := app{id: "hireX", recruiter: "rec1", job: "job1", steps: []step{
		at(evReceived, "03-02 09:00"), at(evMessage, "03-02 10:00"), at(evHired, "03-20 10:00", employeeID("EX")),
	}}
	apps = append(apps, hire)
	saved := book(time.UTC, wall, now, apps...)
	w := &sla.CheckpointWriter{}
	saved.SaveCheckpoint(w)
	data := w.Bytes()

	restored := book(time.UTC, wall, now, checkpointScenario(2, 50, now)...) // replaced wholly
	restore, err := restored.LoadCheckpoint(sla.NewCheckpointReader(data))
	if err != nil {
		t.Fatal(err)
	}
	restore()
	want := everything(t, saved, now)
	if got := everything(t, restored, now); got != want {
		t.Fatalf("restored book differs:\n got %s\nwant %s", got, want)
	}

	// The same changes to both: new events, a referral added and one taken away.
	later := now.Add(24 * time.Hour)
	referred := app{id: "refX", recruiter: "rec2", job: "job2", steps: []step{
		{kind: evReceived, when: now.Add(-2 * time.Hour), opts: []evOpt{attributed("x", "", "EX")}},
	}}
	changed := []app{apps[3], apps[10], apps[42], referred} // refX makes hireX a hire who referred
	changed[0].steps = append(changed[0].steps, at(evHired, "04-30 10:00", employeeID("E1")))
	changed[1].steps = changed[1].steps[:1]
	changed[2].steps = append(changed[2].steps, step{kind: evReceived, when: now.Add(-time.Hour), opts: []evOpt{attributed("x", "", "E1")}})
	for _, b := range []*Book{saved, restored} {
		for _, a := range changed {
			apply(b, wall, later, a)
		}
	}
	if got, want := everything(t, restored, later), everything(t, saved, later); got != want {
		t.Fatalf("after the same changes the books differ:\n got %s\nwant %s", got, want)
	}

	before := everything(t, restored, later)
	for _, cut := range []int{1, len(data) / 2, len(data) - 1} {
		if _, err := restored.LoadCheckpoint(sla.NewCheckpointReader(data[:cut])); err == nil {
			t.Errorf("a checkpoint cut at %d of %d bytes was taken", cut, len(data))
		}
	}
	if everything(t, restored, later) != before {
		t.Error("a refused checkpoint changed the book")
	}
}

// FuzzLoadCheckpoint: whatever the bytes, loading a checkpoint fails or yields a book
// that answers every query without panicking.
func FuzzLoadCheckpoint(f *testing.F) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	w := &sla.CheckpointWriter{}
	book(time.UTC, wall, now, checkpointScenario(5, 30, now)...).SaveCheckpoint(w)
	f.Add(w.Bytes())
	f.Add([]byte{1, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewBook(utc)
		restore, err := b.LoadCheckpoint(sla.NewCheckpointReader(data))
		if err != nil {
			return
		}
		restore()
		everything(t, b, now)
	})
}
