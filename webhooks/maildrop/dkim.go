package maildrop

import (
	"bytes"
	"context"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/publicsuffix"
)

// maxSignatures bounds the DKIM signatures checked per message.
const maxSignatures = 5

// dnsTimeout bounds one DKIM key lookup in DNS.
const dnsTimeout = 10 * time.Second

// lookupDNS resolves a TXT record within dnsTimeout.
func lookupDNS(name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
	defer cancel()
	return net.DefaultResolver.LookupTXT(ctx, name)
}

// SignedDomains returns the domains (d=) of the message's valid DKIM signatures,
// lower case. lookupTXT resolves the keys; nil uses DNS, each lookup bounded by 10 s.
func SignedDomains(raw []byte, lookupTXT func(string) ([]string, error)) []string {
	if lookupTXT == nil {
		lookupTXT = lookupDNS
	}
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
