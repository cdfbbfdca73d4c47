package directory

import (
	"context"
	"errors"
	"net/mail"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// ATSUser is an ATS user as the directory keeps it: the four fields the ATS owns.
type ATSUser struct {
	ID        string // "<vendor>:<user id>"
	Name      string
	Email     string
	Active    bool
	ManagerID string // "<vendor>:<user id>", empty when the ATS has no manager
}

// PutATSUsers sets what the ATS owns of each user's directory entry — name, email,
// active, and manager_id when the ATS names a manager — creating entries not there
// yet (with the defaults of Validate); phone, channels, quiet hours, away/delegate,
// team and the rest stay as an admin set them. Each pass of the sync calls it, so a
// PUT's values for the four fields last until then. An email that is not a plain
// address, or a manager that is the user itself, is left out.
func (d *Store) PutATSUsers(ctx context.Context, users []ATSUser) error {
	for _, u := range users {
		id := strings.TrimSpace(u.ID)
		if id == "" || len(id) > maxIDLen || strings.ContainsFunc(id, func(c rune) bool { return c < ' ' || c == 0x7f || c == '/' }) {
			continue
		}
		r, err := d.putATSUser(ctx, id, u)
		d.wrote(r, err)
		if err != nil {
			return interactions.Unavailable("put ATS users in the recruiters directory", err)
		}
	}
	return nil
}

// putATSUser sets the ATS's fields of one entry, creating it if need be, and returns
// the entry as stored.
func (d *Store) putATSUser(ctx context.Context, id string, u ATSUser) (Recruiter, error) {
	email := strings.TrimSpace(u.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Name != "" || a.Address != email {
		email = ""
	}
	active := u.Active
	set := bson.D{{Key: "name", Value: strings.TrimSpace(u.Name)}, {Key: "email", Value: email}, {Key: "active", Value: &active}}
	manager := strings.TrimSpace(u.ManagerID)
	if manager == id {
		manager = ""
	}
	if manager != "" {
		set = append(set, bson.E{Key: "manager_id", Value: manager})
	}
	update := func() (Recruiter, error) {
		var r Recruiter
		err := d.recruiters.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&r)
		r.normalise()
		return r, err
	}
	r, err := update()
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return r, err
	}
	r = Recruiter{ID: id, Name: strings.TrimSpace(u.Name), Email: email, Active: &active, ManagerID: manager}
	r.Validate(nil) // the defaults; nothing it could refuse is set
	_, err = d.recruiters.InsertOne(ctx, r)
	if mongo.IsDuplicateKeyError(err) { // created meanwhile: set the fields
		return update()
	}
	return r, err
}
