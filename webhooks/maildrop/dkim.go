package maildrop

import (
	"bytes"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/publicsuffix"
)

// maxSignatures bounds the DKIM signatures checked per message.
const maxSignatures = 5

// SignedDomains returns the domains (d=) of the message's valid DKIM signatures,
// lower case. lookupTXT resolves the keys; nil uses DNS.
func SignedDomains(raw []byte, lookupTXT func(string) ([]string, error)) []string {
	verifs, _ := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: lookupTXT, MaxVerifications: maxSignatures,
	})
	var out []string
	for _, v := range verifs {
		if v != nil && v.Err == nil {
			d := strings.ToLower(strings.TrimSuffix(v.Domain, "."))
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// Aligned reports whether a signing domain is aligned with domain under DMARC's
// relaxed rule: both have the same organisational domain (a.example.com and
// example.com do; example.com and example.org do not).
func Aligned(signer, domain string) bool {
	if signer == "" || domain == "" {
		return false
	}
	if signer == domain {
		return true
	}
	a, err1 := publicsuffix.EffectiveTLDPlusOne(signer)
	b, err2 := publicsuffix.EffectiveTLDPlusOne(domain)
	return err1 == nil && err2 == nil && a == b
}

// alignedWithAny reports whether one of the signers is aligned with one of domains.
func alignedWithAny(signers []string, domains ...string) bool {
	for _, s := range signers {
		for _, d := range domains {
			if Aligned(s, d) {
				return true
			}
		}
	}
	return false
}
