package directory

import (
	"fmt"
	"slices"
	"strings"
)

// CallingCodes maps ISO 3166 country codes to their international calling codes, for
// the countries GOODWILL_SMS_COUNTRIES may name.
var CallingCodes = map[string]string{
	"US": "1", "CA": "1", "PR": "1", "JM": "1", "DO": "1", "TT": "1", "BS": "1", "BB": "1",
	"GB": "44", "IE": "353", "DE": "49", "FR": "33", "ES": "34", "PT": "351", "IT": "39",
	"NL": "31", "BE": "32", "LU": "352", "CH": "41", "AT": "43", "DK": "45", "SE": "46",
	"NO": "47", "FI": "358", "IS": "354", "PL": "48", "CZ": "420", "SK": "421", "HU": "36",
	"RO": "40", "BG": "359", "GR": "30", "HR": "385", "SI": "386", "EE": "372", "LV": "371",
	"LT": "370", "MT": "356", "CY": "357", "UA": "380", "TR": "90", "IL": "972", "AE": "971",
	"SA": "966", "ZA": "27", "NG": "234", "KE": "254", "EG": "20", "MA": "212", "IN": "91",
	"PK": "92", "BD": "880", "SG": "65", "MY": "60", "TH": "66", "VN": "84", "PH": "63",
	"ID": "62", "CN": "86", "HK": "852", "TW": "886", "JP": "81", "KR": "82", "AU": "61",
	"NZ": "64", "MX": "52", "BR": "55", "AR": "54", "CL": "56", "CO": "57", "PE": "51",
}

// nanpAreaCodes maps the area codes of the North American Numbering Plan (+1) that
// belong to a country other than the US and Canada, so that allowing "US" does not open
// SMS to Caribbean numbers (a favourite of SMS pumping).
var nanpAreaCodes = map[string]string{
	"242": "BS", "246": "BB", "264": "AI", "268": "AG", "284": "VG", "345": "KY", "441": "BM",
	"473": "GD", "649": "TC", "658": "JM", "876": "JM", "664": "MS", "721": "SX", "758": "LC",
	"767": "DM", "784": "VC", "787": "PR", "939": "PR", "809": "DO", "829": "DO", "849": "DO",
	"868": "TT", "869": "KN", "340": "VI", "670": "MP", "671": "GU", "684": "AS",
}

// ParseSMSCountries parses a comma-separated list of ISO 3166 country codes (the
// GOODWILL_SMS_COUNTRIES setting) into upper-case codes, rejecting codes CallingCodes
// does not know.
func ParseSMSCountries(s string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(s, ",") {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if _, ok := CallingCodes[c]; !ok {
			return nil, fmt.Errorf("unknown or unsupported country %q (want ISO 3166 codes like US, GB, DE)", c)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// checkPhone returns what is wrong with phone, or "": it must be E.164 ("+" and 8 to 15
// digits, no leading zero) within one of countries.
func checkPhone(phone string, countries []string) string {
	digits, ok := strings.CutPrefix(phone, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' ||
		strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
		return "must be an E.164 number like +14155550100"
	}
	if !phoneAllowed(digits, countries) {
		return fmt.Sprintf("must be a number in one of the SMS countries (%s)", strings.Join(countries, ", "))
	}
	return ""
}

// PhoneAllowed reports whether an E.164 number ("+" and digits) belongs to one of
// countries (ISO 3166 codes of CallingCodes).
func PhoneAllowed(phone string, countries []string) bool {
	digits, ok := strings.CutPrefix(phone, "+")
	return ok && digits != "" && phoneAllowed(digits, countries)
}

// phoneAllowed reports whether the E.164 digits (without "+") belong to one of countries.
func phoneAllowed(digits string, countries []string) bool {
	for _, c := range countries {
		code, ok := CallingCodes[strings.ToUpper(c)]
		if !ok || !strings.HasPrefix(digits, code) {
			continue
		}
		if code != "1" {
			return true
		}
		// +1: the area code says which country.
		owner := "US/CA"
		if len(digits) >= 4 {
			if o, ok := nanpAreaCodes[digits[1:4]]; ok {
				owner = o
			}
		}
		switch c := strings.ToUpper(c); {
		case owner == "US/CA" && (c == "US" || c == "CA"), owner == c:
			return true
		}
	}
	return false
}
