package service_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
)

const (
	testSID       = "AC0123456789abcdef0123456789abcdef"
	testMGSID     = "MG0123456789abcdef0123456789abcdef"
	testSigning1  = "signing-key-one-0123456789abcdef0123"
	testSigning2  = "signing-key-two-0123456789abcdef0123"
	testBootstrap = "gw_0123456789abcdef0123456789abcdef01234567"
)

// defaultConfig is what LoadConfig returns for an empty environment.
func defaultConfig() service.Config {
	return service.Config{
		Addr:           "127.0.0.1:8080",
		DataDir:        "./data",
		DB:             "goodwill",
		PublicURL:      "http://127.0.0.1:8080",
		Timezone:       "UTC",
		WebhookSecrets: map[string][]string{},
		Alerts:         "on",
		SMSCountries:   []string{"US", "CA", "GB"},
		Retention:      interactions.Duration{Days: 730},
		Currency:       "USD",
		TwilioAPIURL:   "https://api.twilio.com",

		DeliveryLogRetention: interactions.Duration{Days: 30},
		SyncInterval:         interactions.Duration{Rest: 5 * time.Minute},
		SyncLookback:         interactions.Duration{Days: 30},
		OIDC:                 service.OIDCConfig{KeySignIn: true},
		Greenhouse:           greenhouse.Config{APIURL: greenhouse.DefaultAPIURL, TokenURL: greenhouse.DefaultTokenURL},
		LeverSync:            service.LeverSyncConfig{APIURL: "https://api.lever.co/v1"},
		AshbySync:            service.AshbySyncConfig{APIURL: "https://api.ashbyhq.com"},
		Slack:                service.SlackConfig{APIURL: "https://slack.com/api/"},
	}
}

// oidcEnv is a complete, valid single sign-on configuration plus its public URL.
func oidcEnv() map[string]string {
	return map[string]string{
		"GOODWILL_OIDC_ISSUER":        "https://accounts.example.com/",
		"GOODWILL_OIDC_CLIENT_ID":     "goodwill",
		"GOODWILL_OIDC_CLIENT_SECRET": "s3cret",
		"GOODWILL_PUBLIC_URL":         "https://goodwill.example.com",
	}
}

// twilioEnv is a complete, valid Twilio configuration plus its public URL.
func twilioEnv() map[string]string {
	return map[string]string{
		"TWILIO_ACCOUNT_SID":  testSID,
		"TWILIO_AUTH_TOKEN":   "token",
		"TWILIO_FROM_NUMBER":  "+14155550100",
		"GOODWILL_PUBLIC_URL": "https://goodwill.example.com",
	}
}

// smtpEnv is a complete, valid SMTP configuration plus its public URL.
func smtpEnv() map[string]string {
	return map[string]string{
		"GOODWILL_SMTP_URL":   "smtp://user:pass@mail.example.com:587",
		"GOODWILL_EMAIL_FROM": "goodwill@example.com",
		"GOODWILL_PUBLIC_URL": "https://goodwill.example.com",
	}
}

// with returns a copy of base with the given name/value pairs set ("" deletes).
func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

func env(kv ...string) map[string]string { return with(nil, kv...) }

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(c *service.Config) // edits defaultConfig() into the expected result
	}{
		// Nothing set: the documented defaults, public URL derived from the address.
		{"defaults", env(), func(*service.Config) {}},
		// The Greenhouse Harvest v3 credential, its user and endpoints (loopback may be http).
		{"greenhouse", env("GOODWILL_GREENHOUSE_CLIENT_ID", "cid", "GOODWILL_GREENHOUSE_CLIENT_SECRET", "cs",
			"GOODWILL_GREENHOUSE_USER_ID", "4242", "GOODWILL_GREENHOUSE_API_URL", "http://127.0.0.1:9999/v3",
			"GOODWILL_GREENHOUSE_TOKEN_URL", "https://auth.example.com/token"), func(c *service.Config) {
			c.Greenhouse = greenhouse.Config{ClientID: "cid", ClientSecret: "cs", UserID: "4242",
				APIURL: "http://127.0.0.1:9999/v3", TokenURL: "https://auth.example.com/token"}
		}},
		// Blank values count as unset.
		{"blank values are defaults", env("GOODWILL_ADDR", "  ", "GOODWILL_ALERTS", " ", "GOODWILL_SMS_COUNTRIES", " "), func(*service.Config) {}},
		// The public URL follows the listen address when not set.
		{"public url follows addr", env("GOODWILL_ADDR", "0.0.0.0:9000"), func(c *service.Config) {
			c.Addr, c.PublicURL = "0.0.0.0:9000", "http://localhost:9000"
		}},
		// An explicit public URL loses its trailing slash.
		{"public url trimmed", env("GOODWILL_PUBLIC_URL", "https://gw.example.com/base/"), func(c *service.Config) {
			c.PublicURL = "https://gw.example.com/base"
		}},
		// A MongoDB URI, database name, data directory and bootstrap key are kept as given.
		{"store settings", env("GOODWILL_MONGODB_URI", "mongodb://db.example.com:27017/?replicaSet=rs0",
			"GOODWILL_DB", "gw_prod-1", "GOODWILL_DATA_DIR", "/var/lib/goodwill", "GOODWILL_BOOTSTRAP_KEY", testBootstrap), func(c *service.Config) {
			c.MongoDBURI, c.DB, c.DataDir, c.BootstrapKey = "mongodb://db.example.com:27017/?replicaSet=rs0", "gw_prod-1", "/var/lib/goodwill", testBootstrap
		}},
		// An SRV URI is a MongoDB URI too.
		{"srv uri", env("GOODWILL_MONGODB_URI", "mongodb+srv://cluster.example.com/"), func(c *service.Config) {
			c.MongoDBURI = "mongodb+srv://cluster.example.com/"
		}},
		// Signing keys: a comma-separated list, first signs, spaces trimmed.
		{"signing keys rotate", env("GOODWILL_SIGNING_KEY", testSigning1+" , "+testSigning2), func(c *service.Config) {
			c.SigningKeys = []string{testSigning1, testSigning2}
		}},
		// Calendar seeds: a zone and a holiday country, the country upper-cased.
		{"calendar seeds", env("GOODWILL_TIMEZONE", "America/New_York", "GOODWILL_HOLIDAYS", "gb"), func(c *service.Config) {
			c.Timezone, c.Holidays = "America/New_York", "GB"
		}},
		// Webhook secrets split on commas, blanks dropped, per source.
		{"webhook secrets split", env("GOODWILL_WEBHOOK_SECRET_LEVER", "a, b,,c", "GOODWILL_WEBHOOK_SECRET_STANDARD", "whsec_c2VjcmV0LWtleS0xMjM0NTY3OA==",
			"GOODWILL_WEBHOOK_SECRET_GREENHOUSE", " , "), func(c *service.Config) {
			c.WebhookSecrets = map[string][]string{"lever": {"a", "b", "c"}, "standard": {"whsec_c2VjcmV0LWtleS0xMjM0NTY3OA=="}}
		}},
		// Lever's hired archive reasons split on commas.
		{"lever hired reasons", env("GOODWILL_LEVER_HIRED_REASONS", " r1 ,r2,"), func(c *service.Config) {
			c.LeverHiredReasons = []string{"r1", "r2"}
		}},
		// Alerts may be log or off.
		{"alerts log", env("GOODWILL_ALERTS", "log"), func(c *service.Config) { c.Alerts = "log" }},
		{"alerts off", env("GOODWILL_ALERTS", "off"), func(c *service.Config) { c.Alerts = "off" }},
		// SMS countries are upper-cased and trimmed.
		{"sms countries", env("GOODWILL_SMS_COUNTRIES", "us, de ,ie"), func(c *service.Config) { c.SMSCountries = []string{"US", "DE", "IE"} }},
		// The delivery log's retention takes the API's duration notation.
		{"delivery log retention", env("GOODWILL_DELIVERY_LOG_RETENTION", "7d12h"), func(c *service.Config) {
			c.DeliveryLogRetention = interactions.Duration{Days: 7, Rest: 12 * time.Hour}
		}},
		// The sync's interval and lookback take the API's duration notation; 1s is the
		// shortest interval.
		{"sync interval and lookback", env("GOODWILL_SYNC_INTERVAL", "1s", "GOODWILL_SYNC_LOOKBACK", "7d"), func(c *service.Config) {
			c.SyncInterval, c.SyncLookback = interactions.Duration{Rest: time.Second}, interactions.Duration{Days: 7}
		}},
		// Retention takes the API's duration notation.
		{"retention", env("GOODWILL_RETENTION", "365d12h"), func(c *service.Config) {
			c.Retention = interactions.Duration{Days: 365, Rest: 12 * time.Hour}
		}},
		// Twilio with a from number and its public URL.
		{"twilio", twilioEnv(), func(c *service.Config) {
			c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom = testSID, "token", "+14155550100"
			c.PublicURL = "https://goodwill.example.com"
		}},
		// Twilio with a messaging service instead of a from number; the API URL loses its slash.
		{"twilio messaging service", with(twilioEnv(), "TWILIO_FROM_NUMBER", "", "TWILIO_MESSAGING_SERVICE_SID", testMGSID,
			"GOODWILL_TWILIO_API_URL", "http://127.0.0.1:9999/"), func(c *service.Config) {
			c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioMessagingSID = testSID, "token", testMGSID
			c.TwilioAPIURL = "http://127.0.0.1:9999"
			c.PublicURL = "https://goodwill.example.com"
		}},
		// SMTP with a From address and its public URL.
		{"smtp", smtpEnv(), func(c *service.Config) {
			c.SMTPURL, c.EmailFrom = "smtp://user:pass@mail.example.com:587", "goodwill@example.com"
			c.PublicURL = "https://goodwill.example.com"
		}},
		// smtps:// and a From address with a display name.
		{"smtps", with(smtpEnv(), "GOODWILL_SMTP_URL", "smtps://mail.example.com:465", "GOODWILL_EMAIL_FROM", "Goodwill <gw@example.com>"), func(c *service.Config) {
			c.SMTPURL, c.EmailFrom = "smtps://mail.example.com:465", "Goodwill <gw@example.com>"
			c.PublicURL = "https://goodwill.example.com"
		}},
		// Trusted proxies: CIDRs and bare addresses, canonical, spaces and blanks dropped.
		{"trusted proxies", env("GOODWILL_TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.7 ,,fd00::1/8,::ffff:172.16.0.1"), func(c *service.Config) {
			c.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8", "172.16.0.1/32"}
		}},
		// Tracing is on with an OTLP endpoint.
		{"tracing endpoint", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), func(c *service.Config) { c.Tracing = true }},
		// Tracing is on with an explicit traces exporter.
		{"tracing exporter", env("OTEL_TRACES_EXPORTER", "console"), func(c *service.Config) { c.Tracing = true }},
		// OTEL_TRACES_EXPORTER=none keeps tracing off.
		{"tracing exporter none", env("OTEL_TRACES_EXPORTER", "none"), func(*service.Config) {}},
		// Other OTEL_* variables alone do not turn tracing on.
		{"tracing other otel vars", env("OTEL_SERVICE_NAME", "goodwill", "OTEL_RESOURCE_ATTRIBUTES", "env=prod"), func(*service.Config) {}},
		// Single sign-on: the issuer is kept as given (discovery must match it), admins and domains are lower-cased
		// and trimmed, a domain loses its "@", and key sign-in may be turned off.
		{"oidc", with(oidcEnv(), "GOODWILL_OIDC_ADMINS", " Ann@Example.com ,bob@example.com", "GOODWILL_OIDC_ALLOWED_DOMAINS", "Example.com, @corp.example.org",
			"GOODWILL_KEY_SIGNIN", "off"), func(c *service.Config) {
			c.PublicURL = "https://goodwill.example.com"
			c.OIDC = service.OIDCConfig{Issuer: "https://accounts.example.com/", ClientID: "goodwill", ClientSecret: "s3cret",
				Admins: []string{"ann@example.com", "bob@example.com"}, Domains: []string{"example.com", "corp.example.org"}}
		}},
		// An issuer on localhost may be plain http (a test identity provider).
		{"oidc local issuer", with(oidcEnv(), "GOODWILL_OIDC_ISSUER", "http://127.0.0.1:5556/dex"), func(c *service.Config) {
			c.PublicURL = "https://goodwill.example.com"
			c.OIDC = service.OIDCConfig{Issuer: "http://127.0.0.1:5556/dex", ClientID: "goodwill", ClientSecret: "s3cret", KeySignIn: true}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := service.LoadConfig(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			want := defaultConfig()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		// A trusted proxy that is not a CIDR.
		{"trusted proxies malformed", env("GOODWILL_TRUSTED_PROXIES", "10.0.0.0/8,proxy.example.com"), "GOODWILL_TRUSTED_PROXIES"},
		// A prefix length out of range.
		{"trusted proxies prefix", env("GOODWILL_TRUSTED_PROXIES", "10.0.0.0/33"), "GOODWILL_TRUSTED_PROXIES"},
		// An address without a port.
		{"addr without port", env("GOODWILL_ADDR", "localhost"), "GOODWILL_ADDR"},
		// An address with an empty port.
		{"addr empty port", env("GOODWILL_ADDR", "127.0.0.1:"), "GOODWILL_ADDR"},
		// A Standard Webhooks secret that is not base64.
		{"standard secret not base64", env("GOODWILL_WEBHOOK_SECRET_STANDARD", "whsec_%%%"), "GOODWILL_WEBHOOK_SECRET_STANDARD"},
		// A URI of another database.
		{"mongodb uri scheme", env("GOODWILL_MONGODB_URI", "postgres://db.example.com/goodwill"), "GOODWILL_MONGODB_URI"},
		// A database name with a dot.
		{"db dot", env("GOODWILL_DB", "good.will"), "GOODWILL_DB"},
		// A database name with a space.
		{"db space", env("GOODWILL_DB", "good will"), "GOODWILL_DB"},
		// A bootstrap key without the gw_ prefix.
		{"bootstrap prefix", env("GOODWILL_BOOTSTRAP_KEY", "xx_0123456789abcdef0123456789abcdef0123"), "GOODWILL_BOOTSTRAP_KEY"},
		// A bootstrap key too short to be safe.
		{"bootstrap short", env("GOODWILL_BOOTSTRAP_KEY", "gw_0123456789"), "GOODWILL_BOOTSTRAP_KEY"},
		// A signing key shorter than 32 characters.
		{"signing short", env("GOODWILL_SIGNING_KEY", "short"), "GOODWILL_SIGNING_KEY"},
		// A short key after a good one in the rotation list.
		{"signing second short", env("GOODWILL_SIGNING_KEY", testSigning1+",short"), "GOODWILL_SIGNING_KEY"},
		// A time zone that does not exist.
		{"timezone", env("GOODWILL_TIMEZONE", "Mars/Olympus"), "GOODWILL_TIMEZONE"},
		// A holiday country that is not two letters.
		{"holidays", env("GOODWILL_HOLIDAYS", "USA"), "GOODWILL_HOLIDAYS"},
		// An alerts mode that is not on, log or off.
		{"alerts", env("GOODWILL_ALERTS", "yes"), "GOODWILL_ALERTS"},
		// An unknown SMS country.
		{"sms countries unknown", env("GOODWILL_SMS_COUNTRIES", "US,XX"), "GOODWILL_SMS_COUNTRIES"},
		// A retention that is not a duration.
		{"retention notation", env("GOODWILL_RETENTION", "2y"), "GOODWILL_RETENTION"},
		// A retention under one day.
		{"retention short", env("GOODWILL_RETENTION", "12h"), "GOODWILL_RETENTION"},
		{"currency not a code", env("GOODWILL_CURRENCY", "dollars"), "GOODWILL_CURRENCY"},
		// A delivery-log retention that is not a duration.
		{"delivery log retention notation", env("GOODWILL_DELIVERY_LOG_RETENTION", "1 month"), "GOODWILL_DELIVERY_LOG_RETENTION"},
		// A delivery-log retention of zero.
		{"delivery log retention zero", env("GOODWILL_DELIVERY_LOG_RETENTION", "0s"), "GOODWILL_DELIVERY_LOG_RETENTION"},
		// A sync interval under 1s, or not a duration.
		{"sync interval short", env("GOODWILL_SYNC_INTERVAL", "0s"), "GOODWILL_SYNC_INTERVAL"},
		{"sync interval notation", env("GOODWILL_SYNC_INTERVAL", "5 minutes"), "GOODWILL_SYNC_INTERVAL"},
		// A sync lookback that is not a duration.
		{"sync lookback notation", env("GOODWILL_SYNC_LOOKBACK", "1 month"), "GOODWILL_SYNC_LOOKBACK"},
		// A Twilio account SID of the wrong shape.
		{"twilio sid", with(twilioEnv(), "TWILIO_ACCOUNT_SID", "AC123"), "TWILIO_ACCOUNT_SID"},
		// Twilio credentials without an account SID.
		{"twilio sid missing", with(twilioEnv(), "TWILIO_ACCOUNT_SID", ""), "TWILIO_ACCOUNT_SID"},
		// A Twilio account without its auth token.
		{"twilio token missing", with(twilioEnv(), "TWILIO_AUTH_TOKEN", ""), "TWILIO_AUTH_TOKEN"},
		// A from number that is not E.164.
		{"twilio from", with(twilioEnv(), "TWILIO_FROM_NUMBER", "415-555-0100"), "TWILIO_FROM_NUMBER"},
		// Twilio without any sender.
		{"twilio no sender", with(twilioEnv(), "TWILIO_FROM_NUMBER", ""), "TWILIO_FROM_NUMBER"},
		// A messaging service SID of the wrong shape.
		{"twilio messaging sid", with(twilioEnv(), "TWILIO_MESSAGING_SERVICE_SID", "MG1"), "TWILIO_MESSAGING_SERVICE_SID"},
		// A Twilio API URL that is not http(s).
		{"twilio api url", env("GOODWILL_TWILIO_API_URL", "ftp://api.twilio.com"), "GOODWILL_TWILIO_API_URL"},
		// A Twilio API URL without a host.
		{"twilio api url no host", env("GOODWILL_TWILIO_API_URL", "https://"), "GOODWILL_TWILIO_API_URL"},
		// An SMTP URL of another scheme.
		{"smtp scheme", with(smtpEnv(), "GOODWILL_SMTP_URL", "http://mail.example.com"), "GOODWILL_SMTP_URL"},
		// An SMTP URL without a host.
		{"smtp no host", with(smtpEnv(), "GOODWILL_SMTP_URL", "smtp://"), "GOODWILL_SMTP_URL"},
		// SMTP without a From address.
		{"smtp without from", with(smtpEnv(), "GOODWILL_EMAIL_FROM", ""), "GOODWILL_EMAIL_FROM"},
		// A From address that is not an address.
		{"email from", with(smtpEnv(), "GOODWILL_EMAIL_FROM", "not an address"), "GOODWILL_EMAIL_FROM"},
		// A From address is checked even without SMTP.
		{"email from alone", env("GOODWILL_EMAIL_FROM", "nope"), "GOODWILL_EMAIL_FROM"},
		// Twilio needs a public URL: links and signature checks use it.
		{"twilio needs public url", with(twilioEnv(), "GOODWILL_PUBLIC_URL", ""), "GOODWILL_PUBLIC_URL"},
		// SMTP needs a public URL: links in emails use it.
		{"smtp needs public url", with(smtpEnv(), "GOODWILL_PUBLIC_URL", ""), "GOODWILL_PUBLIC_URL"},
		// A Greenhouse client id without its secret, and a secret without the id.
		{"greenhouse secret missing", env("GOODWILL_GREENHOUSE_CLIENT_ID", "cid"), "GOODWILL_GREENHOUSE_CLIENT_SECRET"},
		{"greenhouse id missing", env("GOODWILL_GREENHOUSE_CLIENT_SECRET", "cs"), "GOODWILL_GREENHOUSE_CLIENT_ID"},
		// A Greenhouse user that is not a numeric id.
		{"greenhouse user id", env("GOODWILL_GREENHOUSE_CLIENT_ID", "cid", "GOODWILL_GREENHOUSE_CLIENT_SECRET", "cs", "GOODWILL_GREENHOUSE_USER_ID", "rita"), "GOODWILL_GREENHOUSE_USER_ID"},
		// A plain http Greenhouse API elsewhere than on localhost.
		{"greenhouse http api", env("GOODWILL_GREENHOUSE_API_URL", "http://harvest.greenhouse.io/v3"), "GOODWILL_GREENHOUSE_API_URL"},
		// A token URL that is not a URL.
		{"greenhouse token url", env("GOODWILL_GREENHOUSE_TOKEN_URL", "auth.greenhouse.io/token"), "GOODWILL_GREENHOUSE_TOKEN_URL"},
		// A public URL without a scheme.
		{"public url scheme", env("GOODWILL_PUBLIC_URL", "goodwill.example.com"), "GOODWILL_PUBLIC_URL"},
		// A public URL with a query.
		{"public url query", env("GOODWILL_PUBLIC_URL", "https://goodwill.example.com/?x=1"), "GOODWILL_PUBLIC_URL"},
		// Single sign-on needs a public URL: the provider sends people back to it.
		{"oidc needs public url", with(oidcEnv(), "GOODWILL_PUBLIC_URL", ""), "GOODWILL_PUBLIC_URL"},
		// The client id and secret are required with an issuer.
		{"oidc client id", with(oidcEnv(), "GOODWILL_OIDC_CLIENT_ID", ""), "GOODWILL_OIDC_CLIENT_ID"},
		{"oidc client secret", with(oidcEnv(), "GOODWILL_OIDC_CLIENT_SECRET", ""), "GOODWILL_OIDC_CLIENT_SECRET"},
		// Client settings, admins or domains without an issuer.
		{"oidc without issuer", with(oidcEnv(), "GOODWILL_OIDC_ISSUER", ""), "GOODWILL_OIDC_ISSUER"},
		{"oidc admins without issuer", env("GOODWILL_OIDC_ADMINS", "ann@example.com"), "GOODWILL_OIDC_ISSUER"},
		// A plain http issuer elsewhere than on localhost.
		{"oidc http issuer", with(oidcEnv(), "GOODWILL_OIDC_ISSUER", "http://accounts.example.com"), "GOODWILL_OIDC_ISSUER"},
		// An issuer that is not a URL.
		{"oidc issuer not url", with(oidcEnv(), "GOODWILL_OIDC_ISSUER", "accounts.example.com"), "GOODWILL_OIDC_ISSUER"},
		// An admin that is not an email address.
		{"oidc admin", with(oidcEnv(), "GOODWILL_OIDC_ADMINS", "ann"), "GOODWILL_OIDC_ADMINS"},
		// A domain that is an address.
		{"oidc domain", with(oidcEnv(), "GOODWILL_OIDC_ALLOWED_DOMAINS", "ann@example.com"), "GOODWILL_OIDC_ALLOWED_DOMAINS"},
		// Key sign-in is on or off.
		{"key signin", env("GOODWILL_KEY_SIGNIN", "no"), "GOODWILL_KEY_SIGNIN"},
		// Key sign-in off without single sign-on would leave nobody a way in.
		{"key signin off alone", env("GOODWILL_KEY_SIGNIN", "off"), "GOODWILL_KEY_SIGNIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := service.LoadConfig(func(k string) string { return tt.env[k] })
			var ce *service.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("LoadConfig error = %v (%T), want a *service.ConfigError", err, err)
			}
			if ce.Var != tt.wantVar {
				t.Errorf("ConfigError.Var = %q, want %q (%v)", ce.Var, tt.wantVar, err)
			}
			if !strings.Contains(err.Error(), tt.wantVar) {
				t.Errorf("message %q does not name %s", err, tt.wantVar)
			}
			if ce.Msg == "" {
				t.Errorf("ConfigError for %s has no message", tt.wantVar)
			}
		})
	}
}

// FuzzTrustedProxies: GOODWILL_TRUSTED_PROXIES either fails naming the variable or
// gives canonical CIDRs that parse back to themselves.
func FuzzTrustedProxies(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/8", "10.1.2.3", "fd00::/8, ::1", "::ffff:1.2.3.4/104", "a,b", "1.2.3.4/33", "fe80::1%eth0", " , "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := service.LoadConfig(func(k string) string {
			if k == "GOODWILL_TRUSTED_PROXIES" {
				return v
			}
			return ""
		})
		if err != nil {
			var ce *service.ConfigError
			if !errors.As(err, &ce) || ce.Var != "GOODWILL_TRUSTED_PROXIES" {
				t.Fatalf("%q: error %v does not name GOODWILL_TRUSTED_PROXIES", v, err)
			}
			return
		}
		for _, p := range c.TrustedProxies {
			prefix, err := netip.ParsePrefix(p)
			if err != nil || prefix.Masked().String() != p {
				t.Fatalf("%q gave %q, which is not a canonical CIDR", v, p)
			}
		}
	})
}
