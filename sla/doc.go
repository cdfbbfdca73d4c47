// Package sla derives SLA clocks from an application's interactions on business
// calendars, and schedules their deadlines.
package sla
