package sla

import (
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// benchStarts are starts spread over 2026, inside and outside business hours.
func benchStarts() []time.Time {
	starts := make([]time.Time, 1024)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range starts {
		starts[i] = base.Add(time.Duration(i)*8*time.Hour + time.Duration(i%7)*17*time.Minute)
	}
	return starts
}

func BenchmarkAdd(b *testing.B) {
	business := mustCompile(Calendar{
		Timezone:      "America/New_York",
		Hours:         weekHours("mon,tue,wed,thu,fri", []string{"09:00", "12:00"}, []string{"13:00", "17:00"}),
		Holidays:      "US",
		ExtraHolidays: []string{"2026-12-24", "2026-12-31"},
	})
	starts := benchStarts()
	for _, bc := range []struct {
		name string
		cal  *BusinessCalendar
	}{{"business", business}, {"24x7", TwentyFourSeven()}} {
		for _, d := range []string{"2d", "10d", "8h", "1d4h"} {
			dur := interactions.MustParseDuration(d)
			b.Run(bc.name+"/"+d, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					bc.cal.Add(starts[i%len(starts)], dur)
					i++
				}
			})
		}
	}
}

func BenchmarkAddParallel(b *testing.B) {
	bc := mustCompile(DefaultCalendar("Europe/London", "GB"))
	starts := benchStarts()
	dur := interactions.MustParseDuration("2d")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			bc.Add(starts[i%len(starts)], dur)
			i++
		}
	})
}

func BenchmarkBetween(b *testing.B) {
	bc := mustCompile(DefaultCalendar("Europe/London", "GB"))
	starts := benchStarts()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := starts[i%len(starts)]
		bc.Between(s, s.Add(5*24*time.Hour))
		i++
	}
}

func BenchmarkWarnAt(b *testing.B) {
	bc := mustCompile(DefaultCalendar("Europe/London", "GB"))
	starts := benchStarts()
	dur := interactions.MustParseDuration("2d")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bc.WarnAt(starts[i%len(starts)], dur, 0.75)
		i++
	}
}

func BenchmarkExplain(b *testing.B) {
	bc := mustCompile(DefaultCalendar("Europe/London", "GB"))
	starts := benchStarts()
	dur := interactions.MustParseDuration("2d4h")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bc.Explain(starts[i%len(starts)], dur)
		i++
	}
}
