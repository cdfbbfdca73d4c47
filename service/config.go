package service

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/ashby"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
	"github.com/goodwillhq/goodwill/webhooks/standard"
	"github.com/goodwillhq/goodwill/webhooks/workable"
)

// Config is goodwill serve's configuration, read from the environment.
type Config struct {
	Addr           string
	MongoDBURI     string
	DataDir        string
	DB             string
	BootstrapKey   string
	PublicURL      string
	SigningKeys    []string // first signs, all verify; empty = generated and stored
	Timezone       string
	Holidays       string
	WebhookSecrets map[string][]string // by source: greenhouse, lever, ashby, workable, standard
	// LeverHiredReasons are the ids of the Lever account's archive reasons of type
	// "hired": Lever archives hired candidates, and such an archive is no rejection.
	LeverHiredReasons []string
	Alerts            string // on, log, off
	SMSCountries      []string
	Retention         interactions.Duration
	// DeliveryLogRetention is how long the webhook delivery log keeps its records and
	// raw bodies (and the keys of Twilio callbacks acted on): replay works within it.
	DeliveryLogRetention interactions.Duration

	TwilioAccountSID   string
	TwilioAuthToken    string
	TwilioFrom         string
	TwilioMessagingSID string
	TwilioAPIURL       string

	SMTPURL   string
	EmailFrom string

	// Currency is the ISO 4217 code spend is recorded in (GOODWILL_CURRENCY).
	Currency string

	// AllowPrivateWebhooks (GOODWILL_ALLOW_PRIVATE_WEBHOOKS=on) lets outgoing alert
	// webhooks and Teams posts use http and reach private and loopback addresses.
	AllowPrivateWebhooks bool

	Mail MailConfig // the email dropbox (config_mail.go)

	// Tracing is on when an OTLP endpoint or a traces exporter is set explicitly.
	Tracing bool

	// TrustedProxies are the CIDRs (canonical, as 10.0.0.0/8) whose X-Forwarded-For
	// and X-Forwarded-Proto count (GOODWILL_TRUSTED_PROXIES); none by default.
	TrustedProxies []string

	OIDC OIDCConfig // single sign-on (config_oidc.go)

	// SyncInterval is the time between a vendor's sync passes (GOODWILL_SYNC_INTERVAL,
	// at least 1s); SyncLookback where its first pass starts (GOODWILL_SYNC_LOOKBACK).
	SyncInterval interactions.Duration
	SyncLookback interactions.Duration
	// Greenhouse is the Harvest v3 credential of the ATS sync (config_greenhouse.go);
	// the sync reads Greenhouse when Greenhouse.Configured().
	Greenhouse greenhouse.Config
	// LeverSync is the Lever API key of the ATS sync (config_lever.go); the sync reads
	// Lever when LeverSync.Enabled().
	LeverSync LeverSyncConfig
	// AshbySync is the Ashby API key of the ATS sync (config_ashby.go); the sync reads
	// Ashby when AshbySync.Enabled().
	AshbySync AshbySyncConfig
	// Workable is the Workable account of the ATS sync (config_workable.go); the sync
	// reads Workable when Workable.Configured().
	Workable workable.Config
	// Slack is the Slack app of the slack alert channel (config_slack.go).
	Slack SlackConfig
}

// WebhookSources are the sources that take a GOODWILL_WEBHOOK_SECRET_<SOURCE>.
var WebhookSources = []string{"greenhouse", "lever", "ashby", "workable", "standard"}

// Setting is an environment variable goodwill serve reads.
type Setting struct {
	Name string `json:"name"`
	// Default is the value an unset or blank variable takes; "" when there is none
	// (the setting is off, or derived from others as GOODWILL_PUBLIC_URL is).
	Default string `json:"default"`
}

// Settings lists every environment variable LoadConfig reads, with its default, in
// the order of the table in docs/configuration.md: the one list deployment files and documentation
// are checked against (settings.json beside this file holds it as JSON for tools
// outside this module). LoadConfig reads nothing that is not listed here, and
// passes each variable's listed default: a variable read without being listed, or
// with another default, panics (every test that loads a configuration shows it).
var Settings = func() []Setting {
	list := []Setting{
		{"GOODWILL_ADDR", "127.0.0.1:8080"},
		{"GOODWILL_MONGODB_URI", ""},
		{"GOODWILL_DATA_DIR", "./data"},
		{"GOODWILL_DB", "goodwill"},
		{"GOODWILL_BOOTSTRAP_KEY", ""},
		{"GOODWILL_PUBLIC_URL", ""},
		{"GOODWILL_TRUSTED_PROXIES", ""},
		{"GOODWILL_SIGNING_KEY", ""},
		{"GOODWILL_TIMEZONE", "UTC"},
		{"GOODWILL_HOLIDAYS", ""},
	}
	for _, src := range WebhookSources {
		list = append(list, Setting{webhookSecretVar(src), ""})
	}
	list = append(list, []Setting{
		{"GOODWILL_LEVER_HIRED_REASONS", ""},
		{"GOODWILL_LEVER_API_KEY", ""},
		{"GOODWILL_LEVER_API_URL", "https://api.lever.co/v1"},
		{"GOODWILL_ASHBY_API_KEY", ""},
		{"GOODWILL_ASHBY_API_URL", ashby.DefaultAPIURL},
		{"GOODWILL_ALERTS", "on"},
		{"GOODWILL_SMS_COUNTRIES", "US,CA,GB"},
		{"GOODWILL_RETENTION", "730d"},
		{"GOODWILL_CURRENCY", "USD"},
		{"GOODWILL_DELIVERY_LOG_RETENTION", "30d"},
		{"GOODWILL_SYNC_INTERVAL", "5m"},
		{"GOODWILL_SYNC_LOOKBACK", "30d"},
		{"GOODWILL_GREENHOUSE_CLIENT_ID", ""},
		{"GOODWILL_GREENHOUSE_CLIENT_SECRET", ""},
		{"GOODWILL_GREENHOUSE_USER_ID", ""},
		{"GOODWILL_GREENHOUSE_API_URL", greenhouse.DefaultAPIURL},
		{"GOODWILL_GREENHOUSE_TOKEN_URL", greenhouse.DefaultTokenURL},
		{"GOODWILL_WORKABLE_TOKEN", ""},
		{"GOODWILL_WORKABLE_SUBDOMAIN", ""},
		{"GOODWILL_WORKABLE_API_URL", ""},
		{"GOODWILL_OIDC_ISSUER", ""},
		{"GOODWILL_OIDC_CLIENT_ID", ""},
		{"GOODWILL_OIDC_CLIENT_SECRET", ""},
		{"GOODWILL_OIDC_ADMINS", ""},
		{"GOODWILL_OIDC_ALLOWED_DOMAINS", ""},
		{"GOODWILL_KEY_SIGNIN", "on"},
		{"TWILIO_ACCOUNT_SID", ""},
		{"TWILIO_AUTH_TOKEN", ""},
		{"TWILIO_FROM_NUMBER", ""},
		{"TWILIO_MESSAGING_SERVICE_SID", ""},
		{"GOODWILL_TWILIO_API_URL", "https://api.twilio.com"},
		{"GOODWILL_SMTP_URL", ""},
		{"GOODWILL_EMAIL_FROM", ""},
		{"GOODWILL_ALLOW_PRIVATE_WEBHOOKS", "off"},
		{"GOODWILL_MAIL_ADDR", ""},
		{"GOODWILL_MAIL_DOMAIN", ""},
		{"GOODWILL_MAIL_TLS_CERT", ""},
		{"GOODWILL_MAIL_TLS_KEY", ""},
		{"GOODWILL_MAIL_SENDER_DOMAINS", ""},
		{"GOODWILL_MAIL_REQUIRE_DKIM", ""},
		{"GOODWILL_MAIL_KEEP", "none"},
	}...)
	list = append(list, slackSettings...)
	return append(list, []Setting{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", ""},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""},
		{"OTEL_TRACES_EXPORTER", ""},
	}...)
}()

// settingDefaults maps the names of Settings to their defaults.
var settingDefaults = func() map[string]string {
	m := make(map[string]string, len(Settings))
	for _, s := range Settings {
		m[s.Name] = s.Default
	}
	return m
}()

// webhookSecretVar names the variable holding a source's webhook secrets.
func webhookSecretVar(source string) string {
	return "GOODWILL_WEBHOOK_SECRET_" + strings.ToUpper(source)
}

// callingCodes are the countries SMS may go to and their calling codes.
var callingCodes = map[string]string{
	"US": "1", "CA": "1", "GB": "44", "IE": "353", "DE": "49", "FR": "33", "ES": "34",
	"IT": "39", "NL": "31", "BE": "32", "CH": "41", "AT": "43", "SE": "46", "NO": "47",
	"DK": "45", "FI": "358", "PL": "48", "PT": "351", "AU": "61", "NZ": "64", "IN": "91",
	"SG": "65", "JP": "81", "BR": "55", "MX": "52", "IL": "972", "ZA": "27",
}

// ConfigError names the variable whose value is wrong.
type ConfigError struct {
	Var string
	Msg string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Msg }

// LoadConfig reads and validates the configuration. getenv is os.Getenv in
// production; tests pass a map's lookup.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if listed, ok := settingDefaults[name]; !ok || listed != def {
			panic(fmt.Sprintf("service: LoadConfig reads %s with default %q, which Settings does not list", name, def))
		}
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	bad := func(name, format string, args ...any) (Config, error) {
		return Config{}, &ConfigError{Var: name, Msg: fmt.Sprintf(format, args...)}
	}
	c := Config{
		Addr:               get("GOODWILL_ADDR", "127.0.0.1:8080"),
		MongoDBURI:         get("GOODWILL_MONGODB_URI", ""),
		DataDir:            get("GOODWILL_DATA_DIR", "./data"),
		DB:                 get("GOODWILL_DB", "goodwill"),
		BootstrapKey:       get("GOODWILL_BOOTSTRAP_KEY", ""),
		PublicURL:          get("GOODWILL_PUBLIC_URL", ""),
		Timezone:           get("GOODWILL_TIMEZONE", "UTC"),
		Holidays:           strings.ToUpper(get("GOODWILL_HOLIDAYS", "")),
		Alerts:             get("GOODWILL_ALERTS", "on"),
		TwilioAccountSID:   get("TWILIO_ACCOUNT_SID", ""),
		TwilioAuthToken:    get("TWILIO_AUTH_TOKEN", ""),
		TwilioFrom:         get("TWILIO_FROM_NUMBER", ""),
		TwilioMessagingSID: get("TWILIO_MESSAGING_SERVICE_SID", ""),
		TwilioAPIURL:       strings.TrimRight(get("GOODWILL_TWILIO_API_URL", "https://api.twilio.com"), "/"),
		SMTPURL:            get("GOODWILL_SMTP_URL", ""),
		EmailFrom:          get("GOODWILL_EMAIL_FROM", ""),
		WebhookSecrets:     map[string][]string{},
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return bad("GOODWILL_ADDR", "%q is not a host:port address like 127.0.0.1:8080", c.Addr)
	}
	if c.MongoDBURI != "" && !strings.HasPrefix(c.MongoDBURI, "mongodb://") && !strings.HasPrefix(c.MongoDBURI, "mongodb+srv://") {
		return bad("GOODWILL_MONGODB_URI", "must start with mongodb:// or mongodb+srv://")
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`).MatchString(c.DB) {
		return bad("GOODWILL_DB", "%q is not a database name (letters, digits, '_' and '-')", c.DB)
	}
	if c.BootstrapKey != "" && (!strings.HasPrefix(c.BootstrapKey, "gw_") || len(c.BootstrapKey) < 35) {
		return bad("GOODWILL_BOOTSTRAP_KEY", "must start with gw_ and have at least 32 characters after it (e.g. gw_ and `openssl rand -hex 16`)")
	}
	if v := get("GOODWILL_SIGNING_KEY", ""); v != "" {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if len(k) < 32 {
				return bad("GOODWILL_SIGNING_KEY", "each key must have at least 32 characters")
			}
			c.SigningKeys = append(c.SigningKeys, k)
		}
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		return bad("GOODWILL_TIMEZONE", "%q is not an IANA time zone like Europe/London", c.Timezone)
	}
	if c.Holidays != "" && !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(c.Holidays) {
		return bad("GOODWILL_HOLIDAYS", "%q is not an ISO 3166 country code like US, GB or DE", c.Holidays)
	}
	for _, src := range WebhookSources {
		name := webhookSecretVar(src)
		for _, s := range strings.Split(get(name, ""), ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if src == "standard" {
				if _, err := standard.Secret(s); err != nil {
					return bad(name, "each secret must look like whsec_ followed by base64: %v", err)
				}
			}
			c.WebhookSecrets[src] = append(c.WebhookSecrets[src], s)
		}
	}
	for _, id := range strings.Split(get("GOODWILL_LEVER_HIRED_REASONS", ""), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.LeverHiredReasons = append(c.LeverHiredReasons, id)
		}
	}
	switch c.Alerts {
	case "on", "log", "off":
	default:
		return bad("GOODWILL_ALERTS", "%q must be on, log or off", c.Alerts)
	}
	for _, cc := range strings.Split(get("GOODWILL_SMS_COUNTRIES", "US,CA,GB"), ",") {
		cc = strings.ToUpper(strings.TrimSpace(cc))
		if cc == "" {
			continue
		}
		if _, ok := callingCodes[cc]; !ok {
			return bad("GOODWILL_SMS_COUNTRIES", "%q is not a country SMS can be sent to (known: ISO 3166 codes such as US, CA, GB)", cc)
		}
		c.SMSCountries = append(c.SMSCountries, cc)
	}
	c.Currency = strings.ToUpper(strings.TrimSpace(get("GOODWILL_CURRENCY", "USD")))
	if !currencyRE.MatchString(c.Currency) {
		return bad("GOODWILL_CURRENCY", "%q is not a currency code like USD, EUR or GBP", c.Currency)
	}
	ret, err := interactions.ParseDuration(get("GOODWILL_RETENTION", "730d"))
	if err != nil || ret.Wall() < 24*time.Hour {
		return bad("GOODWILL_RETENTION", "must be a duration of at least 1d, like 730d")
	}
	c.Retention = ret
	dlr, err := interactions.ParseDuration(get("GOODWILL_DELIVERY_LOG_RETENTION", "30d"))
	if err != nil || dlr.Wall() < time.Hour {
		return bad("GOODWILL_DELIVERY_LOG_RETENTION", "must be a duration of at least 1h, like 30d")
	}
	c.DeliveryLogRetention = dlr

	si, err := interactions.ParseDuration(get("GOODWILL_SYNC_INTERVAL", "5m"))
	if err != nil || si.Wall() < time.Second {
		return bad("GOODWILL_SYNC_INTERVAL", "must be a duration of at least 1s, like 5m")
	}
	c.SyncInterval = si
	sl, err := interactions.ParseDuration(get("GOODWILL_SYNC_LOOKBACK", "30d"))
	if err != nil || sl.Wall() < time.Second {
		return bad("GOODWILL_SYNC_LOOKBACK", "must be a duration of at least 1s, like 30d")
	}
	c.SyncLookback = sl

	twilio := c.TwilioAccountSID != "" || c.TwilioAuthToken != "" || c.TwilioFrom != "" || c.TwilioMessagingSID != ""
	if twilio {
		switch {
		case !regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`).MatchString(c.TwilioAccountSID):
			return bad("TWILIO_ACCOUNT_SID", "must be an account SID like AC followed by 32 hex digits")
		case c.TwilioAuthToken == "":
			return bad("TWILIO_AUTH_TOKEN", "is required with TWILIO_ACCOUNT_SID")
		case !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(c.TwilioAuthToken):
			return bad("TWILIO_AUTH_TOKEN", "must be letters and digits, as Twilio's console shows it")
		case c.TwilioFrom == "" && c.TwilioMessagingSID == "":
			return bad("TWILIO_FROM_NUMBER", "set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID to send SMS")
		case c.TwilioFrom != "" && !regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`).MatchString(c.TwilioFrom):
			return bad("TWILIO_FROM_NUMBER", "must be an E.164 number like +14155550100")
		case c.TwilioMessagingSID != "" && !regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`).MatchString(c.TwilioMessagingSID):
			return bad("TWILIO_MESSAGING_SERVICE_SID", "must be a messaging service SID like MG followed by 32 hex digits")
		}
	}
	if u, err := url.Parse(c.TwilioAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("GOODWILL_TWILIO_API_URL", "must be an http(s) URL")
	}
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			return bad("GOODWILL_SMTP_URL", "must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
		}
		if c.EmailFrom == "" {
			return bad("GOODWILL_EMAIL_FROM", "is required with GOODWILL_SMTP_URL")
		}
	}
	if c.EmailFrom != "" {
		if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
			return bad("GOODWILL_EMAIL_FROM", "%q is not an email address", c.EmailFrom)
		}
	}
	switch v := get("GOODWILL_ALLOW_PRIVATE_WEBHOOKS", "off"); v {
	case "on", "off":
		c.AllowPrivateWebhooks = v == "on"
	default:
		return bad("GOODWILL_ALLOW_PRIVATE_WEBHOOKS", "%q must be on or off", v)
	}
	if err := loadOIDC(&c, get); err != nil {
		return Config{}, err
	}
	if err := loadGreenhouse(&c, get); err != nil {
		return Config{}, err
	}
	if err := loadSlack(&c, get); err != nil {
		return Config{}, err
	}
	if err := loadLeverSync(&c, get); err != nil {
		return Config{}, err
	}
	if err := loadAshbySync(&c, get); err != nil {
		return Config{}, err
	}
	if err := loadWorkable(&c, get); err != nil {
		return Config{}, err
	}
	if err := loadMail(&c, get); err != nil {
		return Config{}, err
	}
	if c.PublicURL == "" {
		if twilio || c.SMTPURL != "" || c.Slack.Enabled() {
			return bad("GOODWILL_PUBLIC_URL", "is required when Twilio, SMTP or Slack is configured: links in alerts and Twilio's signatures use it")
		}
		host, port, _ := net.SplitHostPort(c.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	} else {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return bad("GOODWILL_PUBLIC_URL", "must be an http(s) base URL like https://goodwill.example.com")
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.TrustedProxies, err = parseProxies(get("GOODWILL_TRUSTED_PROXIES", "")); err != nil {
		return bad("GOODWILL_TRUSTED_PROXIES", "%v", err)
	}
	exporter := get("OTEL_TRACES_EXPORTER", "")
	c.Tracing = get("OTEL_EXPORTER_OTLP_ENDPOINT", "") != "" || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "") != "" ||
		(exporter != "" && exporter != "none")
	return c, nil
}

// parseProxies reads a comma-separated list of CIDRs (10.0.0.0/8, fd00::/8); a bare
// address stands for itself alone.
func parseProxies(v string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked().String())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an address like 10.1.2.3", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String())
	}
	return out, nil
}

// currencyRE matches an ISO 4217 alphabetic code.
var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
