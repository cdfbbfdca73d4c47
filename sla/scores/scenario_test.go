package scores

// The scenario most tests read, in UTC on 24x7 calendars (first_response due in 48 h,
// reply 24 h, contact_gap 120 h, stage_stall 240 h, closure 48 h), queried for March
// 2026 at scenarioNow. 2026-03-02 is a Monday.
//
// ana answers everyone within the hour; bo ghosts; cy answered once and went silent;
// one application has no recruiter.
var scenarioNow = moment("04-10 12:00")

var (
	// a1: first response 30 min, a reply in 45 min, hired; in stage screen 48 h.
	a1 = app{"a1", "ana", "j1", []step{
		at(evReceived, "03-02 09:00"),
		at(evStage, "03-02 09:00", stage("screen")),
		at(evMessage, "03-02 09:30"),
		at(evMessage, "03-03 10:00", inbound()),
		at(evMessage, "03-03 10:45"),
		at(evHired, "03-04 09:00"),
		at(evSurvey, "03-04 10:00", score(10)),
	}}
	// a2: first response 20 min, rejected with notice.
	a2 = app{"a2", "ana", "j1", []step{
		at(evReceived, "03-02 10:00"),
		at(evCall, "03-02 10:20"),
		at(evRejected, "03-03 09:00", notified()),
		at(evSurvey, "03-04 11:00", score(9)),
	}}
	// a3: first response 50 min, an interview on 03-04, an offer, hired; screen 24 h,
	// onsite 25 h.
	a3 = app{"a3", "ana", "j1", []step{
		at(evReceived, "03-03 09:00"),
		at(evStage, "03-03 09:00", stage("screen")),
		at(evMessage, "03-03 09:50"),
		at(evScheduled, "03-03 10:00", interview("i1", "03-04 14:00")),
		at(evStage, "03-04 09:00", stage("onsite")),
		at(evCompleted, "03-04 15:05", interview("i1", "")),
		at(evFeedback, "03-04 16:00", interview("i1", "")),
		at(evOffer, "03-05 09:00"),
		at(evHired, "03-05 10:00"),
		at(evSurvey, "03-06 10:00", score(10)),
	}}
	// a4: first response 10 min, withdrawn.
	a4 = app{"a4", "ana", "j1", []step{
		at(evReceived, "03-04 09:00"),
		at(evMessage, "03-04 09:10"),
		at(evWithdrawn, "03-04 12:00"),
		at(evSurvey, "03-05 10:00", score(8)),
	}}
	// a5: first response 40 min, rejected with notice.
	a5 = app{"a5", "ana", "j1", []step{
		at(evReceived, "03-05 09:00"),
		at(evMessage, "03-05 09:40"),
		at(evRejected, "03-05 12:00", notified()),
		at(evSurvey, "03-06 11:00", score(3)),
	}}

	// b1: never answered: first_response breached 03-04 09:00, silent, ghosted since
	// 04-03 09:00.
	b1 = app{"b1", "bo", "j2", []step{
		at(evReceived, "03-02 09:00"),
		at(evSurvey, "03-20 10:00", score(9)),
	}}
	// b2: answered after 72 h (first_response breached 03-05 09:00), then silent:
	// contact_gap breached 03-11 09:00, ghosted since 04-10 09:00.
	b2 = app{"b2", "bo", "j2", []step{
		at(evReceived, "03-03 09:00"),
		at(evMessage, "03-06 09:00"),
		at(evSurvey, "03-20 10:00", score(2)),
	}}
	// b3: rejected without telling: first_response canceled, closure breached 03-07
	// 09:00; ghosted.
	b3 = app{"b3", "bo", "j2", []step{
		at(evReceived, "03-04 09:00"),
		at(evRejected, "03-05 09:00"),
		at(evSurvey, "03-20 10:00", score(0)),
	}}
	// b4: answered after 72 h (first_response breached 03-07 09:00), a reply after
	// 72 h (breached 03-10 10:00), contact_gap met 03-12; withdrawn.
	b4 = app{"b4", "bo", "j2", []step{
		at(evReceived, "03-05 09:00"),
		at(evMessage, "03-05 10:00", inbound()),
		at(evMessage, "03-08 09:00"),
		at(evMessage, "03-09 10:00", inbound()),
		at(evMessage, "03-12 10:00"),
		at(evWithdrawn, "03-13 09:00"),
		at(evSurvey, "03-20 10:00", score(5)),
	}}

	// c1: first response 2 h, then silent: contact_gap breached 03-25 11:00.
	c1 = app{"c1", "cy", "j1", []step{
		at(evReceived, "03-20 09:00"),
		at(evMessage, "03-20 11:00"),
		at(evSurvey, "03-21 10:00", score(10)),
	}}

	// u1: no recruiter: first response 1 h, hired.
	u1 = app{"u1", "", "j1", []step{
		at(evReceived, "03-10 09:00"),
		at(evMessage, "03-10 10:00"),
		at(evHired, "03-10 11:00"),
	}}

	scenario = []app{a1, a2, a3, a4, a5, b1, b2, b3, b4, c1, u1}
)
