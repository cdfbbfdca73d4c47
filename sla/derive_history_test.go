package sla

import (
	"slices"
	"strings"
	"testing"

	"github.com/goodwillhq/goodwill/interactions"
)

// withTarget returns env with the built-in policy of m given target d, or disabled when d
// is "".
func withTarget(env Env, m Metric, d string) Env {
	env.Policies = slices.Clone(env.Policies)
	for i, p := range env.Policies {
		if p.ID == string(m) {
			if d == "" {
				env.Policies[i].Enabled = false
			} else {
				env.Policies[i].Target = interactions.MustParseDuration(d)
			}
		}
	}
	return env
}

// changedAt returns cur in force from when on, after the earlier Envs (oldest first; the
// first in force since the beginning of time, the others from their own Since).
func changedAt(cur Env, when string, earlier ...Env) Env {
	cur.Since = moment(when)
	cur.Earlier = earlier
	return cur
}

// inForceFrom returns env in force from when on, as an earlier version.
func inForceFrom(env Env, when string) Env {
	env.Since = moment(when)
	return env
}

// TestDeriveHistory: a clock is decided by the policies and calendar in force when it
// stopped; open clocks follow the current ones.
func TestDeriveHistory(t *testing.T) {
	t.Parallel()
	// Two reply clocks: m1 answered after 4 hours, m2 still unanswered at now.
	replies := []interactions.Interaction{
		ev("m1", kMessage, "03-02 10:00", inbound()),
		ev("c1", kMessage, "03-02 14:00"),
		ev("m2", kMessage, "03-03 10:00", inbound()),
	}
	day := only(MetricReply) // reply: 1d, counted 24x7 here
	hour := withTarget(day, MetricReply, "1h")
	office := officeEnv(MetricReply)
	scoped := day
	scoped.Policies = append(slices.Clone(day.Policies), scopedPolicy("eng-reply", MetricReply, "6h", Scope{Departments: []string{"Engineering"}}))
	withDept := changedAt(hour, "03-03 09:00", scoped)
	withDept.Department = "engineering"
	// Over a weekend: m1 on Friday, answered on Monday within a business day but not
	// within 24 hours.
	weekend := []interactions.Interaction{
		ev("m1", kMessage, "03-06 16:00", inbound()),
		ev("c1", kMessage, "03-09 10:00"),
		ev("m2", kMessage, "03-09 12:00", inbound()),
	}
	runScenarios(t, []scenario{
		{
			// Without history the current policy decides everything.
			name: "no history", env: hour, events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateBreached, "03-02 10:00", "03-02 11:00", "03-02 14:00"},
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// m1 was answered before the policy shrank: it stays met, with its old
			// due time; the open m2 follows the new policy.
			name: "closed before the change keeps its outcome", env: changedAt(hour, "03-03 09:00", day), events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateMet, "03-02 10:00", "03-03 10:00", "03-02 14:00"},
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// m1 was open when the policy changed: it is recomputed from its start.
			name: "closed after the change follows it", env: changedAt(hour, "03-02 12:00", day), events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateBreached, "03-02 10:00", "03-02 11:00", "03-02 14:00"},
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// A stop at the very moment of the change is under the new policy.
			name: "stopped at the change", env: changedAt(hour, "03-02 14:00", day), events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateBreached, "03-02 10:00", "03-02 11:00", "03-02 14:00"},
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// Disabling a policy stops new clocks; closed ones stay.
			name: "disabled since", env: changedAt(withTarget(day, MetricReply, ""), "03-03 09:00", day), events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateMet, "03-02 10:00", "03-03 10:00", "03-02 14:00"},
			},
		},
		{
			// Enabling a policy creates no clock that stopped before it existed.
			name: "enabled since", env: changedAt(hour, "03-03 09:00", withTarget(day, MetricReply, "")), events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// Three versions: m1 stopped under the middle one, which decides it.
			name: "the version in force when it stopped", env: changedAt(hour, "03-03 09:00", day, inForceFrom(withTarget(day, MetricReply, "6h"), "03-02 12:00")),
			events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateMet, "03-02 10:00", "03-02 16:00", "03-02 14:00"},
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// A version in force before any event decides nothing.
			name: "a version before the events", env: changedAt(hour, "03-03 09:00", withTarget(day, MetricReply, "2h"), inForceFrom(day, "03-01 00:00")),
			events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateMet, "03-02 10:00", "03-03 10:00", "03-02 14:00"},
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// The department applies to the earlier versions' scopes too.
			name: "scoped by department then", env: withDept, events: replies, now: "03-03 12:00",
			want: []row{
				{"reply/m1", StateMet, "03-02 10:00", "03-02 16:00", "03-02 14:00"},
				{"reply/m2", StateBreached, "03-03 10:00", "03-03 11:00", ""},
			},
		},
		{
			// From business hours to 24x7: m1, answered within a business day, stays
			// met; the open m2 counts 24x7.
			name: "calendar change", env: changedAt(withTarget(day, MetricReply, "1d"), "03-09 11:00", office), events: weekend, now: "03-09 13:00",
			want: []row{
				{"reply/m1", StateMet, "03-06 16:00", "03-09 16:00", "03-09 10:00"},
				{"reply/m2", StateRunning, "03-09 12:00", "03-10 12:00", ""},
			},
		},
		{
			// The same change before m1 was answered breaches it.
			name: "calendar change while open", env: changedAt(day, "03-07 00:00", office), events: weekend, now: "03-09 13:00",
			want: []row{
				{"reply/m1", StateBreached, "03-06 16:00", "03-07 16:00", "03-09 10:00"},
				{"reply/m2", StateRunning, "03-09 12:00", "03-10 12:00", ""},
			},
		},
	})
}

// TestDeriveHistoryExplain: a clock kept from an earlier version says so, and the
// input Env is not changed.
func TestDeriveHistoryExplain(t *testing.T) {
	t.Parallel()
	events := []interactions.Interaction{
		ev("m1", kMessage, "03-02 10:00", inbound()),
		ev("c1", kMessage, "03-02 14:00"),
	}
	old := only(MetricReply)
	env := changedAt(withTarget(old, MetricReply, "1h"), "03-03 09:00", old)
	got := Derive(events, env, moment("03-03 12:00"))
	if len(got) != 1 || got[0].State != StateMet {
		t.Fatalf("clocks %v", rows(got))
	}
	last := got[0].Explain[len(got[0].Explain)-1]
	if !strings.Contains(last, "in force when it stopped") || !strings.Contains(last, "2026-03-03T09:00:00.000Z") {
		t.Errorf("explain %q", got[0].Explain)
	}
	if !slices.ContainsFunc(got[0].Explain, func(s string) bool { return strings.HasPrefix(s, "policy reply: 1d") }) {
		t.Errorf("the kept clock names the policy of its time: %q", got[0].Explain)
	}
	if env.Earlier[0].Department != "" || env.Earlier[0].Since != (old.Since) {
		t.Error("Derive changed the earlier Env")
	}
}
