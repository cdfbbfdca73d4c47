package sla

import (
	"slices"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/ar"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/au"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/bg"
	"github.com/rickar/cal/v2/br"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/cz"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/gr"
	"github.com/rickar/cal/v2/hr"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/lt"
	"github.com/rickar/cal/v2/lv"
	"github.com/rickar/cal/v2/mw"
	"github.com/rickar/cal/v2/nc"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/ro"
	"github.com/rickar/cal/v2/ru"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/si"
	"github.com/rickar/cal/v2/sk"
	"github.com/rickar/cal/v2/ua"
	"github.com/rickar/cal/v2/us"
	"github.com/rickar/cal/v2/za"
)

// countryHolidays maps an ISO 3166 alpha-2 code to the national public holidays that
// github.com/rickar/cal/v2 defines for it. Regional lists (German Länder, Swiss cantons,
// …) are not offered. Australia has no national list in that package: AU is the
// holidays that every state and territory list shares.
//
// The package's "aa" (common definitions) and "ecb" (European Central Bank) lists are
// not countries and are left out. The lists are read-only.
var countryHolidays = map[string][]*cal.Holiday{
	"AR": ar.Holidays,
	"AT": at.Holidays,
	"AU": sharedHolidays(au.HolidaysACT, au.HolidaysNSW, au.HolidaysNT, au.HolidaysQLD,
		au.HolidaysSA, au.HolidaysTAS, au.HolidaysVIC, au.HolidaysWA),
	"BE": be.Holidays,
	"BG": bg.Holidays,
	"BR": br.Holidays,
	"CA": ca.Holidays,
	"CH": ch.Holidays,
	"CZ": cz.Holidays,
	"DE": de.Holidays,
	"DK": dk.Holidays,
	"ES": es.Holidays,
	"FR": fr.Holidays,
	"GB": gb.Holidays,
	"GR": gr.Holidays,
	"HR": hr.Holidays,
	"IE": ie.Holidays,
	"IT": it.Holidays,
	"JP": jp.Holidays,
	"LT": lt.Holidays,
	"LV": lv.Holidays,
	"MW": mw.Holidays,
	"NC": nc.Holidays,
	"NL": nl.Holidays,
	"NO": no.Holidays,
	"NZ": nz.Holidays,
	"PL": pl.Holidays,
	"RO": ro.Holidays,
	"RU": ru.Holidays,
	"SE": se.Holidays,
	"SI": si.Holidays,
	"SK": sk.Holidays,
	"UA": ua.Holidays,
	"US": us.Holidays,
	"ZA": za.Holidays,
}

// sharedHolidays returns the holidays of the first list that appear in every list.
func sharedHolidays(lists ...[]*cal.Holiday) []*cal.Holiday {
	var out []*cal.Holiday
	for _, h := range lists[0] {
		inAll := true
		for _, l := range lists[1:] {
			if !slices.Contains(l, h) {
				inAll = false
				break
			}
		}
		if inAll {
			out = append(out, h)
		}
	}
	return out
}

// SupportedCountries returns the ISO 3166 alpha-2 codes accepted in
// Calendar.Holidays, sorted.
func SupportedCountries() []string {
	codes := make([]string, 0, len(countryHolidays))
	for code := range countryHolidays {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}
