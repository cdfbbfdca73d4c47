// Copyright 2021 FerretDB Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/FerretDB/wire"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/handler/common"
	"github.com/FerretDB/FerretDB/internal/handler/handlererrors"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/iterator"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// MsgUpdate implements `update` command.
//
// The passed context is canceled when the client connection is closed.
func (h *Handler) MsgUpdate(connCtx context.Context, msg *wire.OpMsg) (*wire.OpMsg, error) {
	document, err := opMsgDocument(msg)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	params, err := common.GetUpdateParams(document, h.L)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	// TODO https://github.com/FerretDB/FerretDB/issues/2612
	_ = params.Ordered

	matched, modified, upserted, err := h.updateDocument(connCtx, params)
	if err != nil {
		return nil, handleUpdateError(params.DB, params.Collection, "update", err)
	}

	res := must.NotFail(types.NewDocument(
		"n", matched,
	))

	if upserted.Len() != 0 {
		res.Set("upserted", upserted)
	}

	res.Set("nModified", modified)
	res.Set("ok", float64(1))

	return documentOpMsg(
		res,
	)
}

// updateDocument iterate through all documents in collection and update them.
func (h *Handler) updateDocument(ctx context.Context, params *common.UpdateParams) (matched, modified int32, _ *types.Array, err error) { //nolint:lll // for readability
	var upserted types.Array

	db, err := h.b.Database(params.DB)
	if err != nil {
		if backends.ErrorCodeIs(err, backends.ErrorCodeDatabaseNameIsInvalid) {
			msg := fmt.Sprintf("Invalid namespace specified '%s.%s'", params.DB, params.Collection)
			return 0, 0, nil, handlererrors.NewCommandErrorMsgWithArgument(handlererrors.ErrInvalidNamespace, msg, "update")
		}

		return 0, 0, nil, lazyerrors.Error(err)
	}

	err = db.CreateCollection(ctx, &backends.CreateCollectionParams{Name: params.Collection})

	switch {
	case err == nil:
		// nothing
	case backends.ErrorCodeIs(err, backends.ErrorCodeCollectionAlreadyExists):
		// nothing
	case backends.ErrorCodeIs(err, backends.ErrorCodeCollectionNameIsInvalid):
		msg := fmt.Sprintf("Invalid collection name: %s", params.Collection)
		return 0, 0, nil, handlererrors.NewCommandErrorMsgWithArgument(handlererrors.ErrInvalidNamespace, msg, "insert")
	default:
		return 0, 0, nil, lazyerrors.Error(err)
	}

	// Updates that each find their document by _id (at most one) run in one
	// transaction: one write lock and one commit for the whole request instead of one
	// per update.
	if !h.DisablePushdown && updatesByID(params.Updates) {
		var stx *backends.SharedTx
		ctx, stx = backends.WithSharedTx(ctx)

		defer func() {
			// keep the updates done before an error, as when each runs on its own
			if endErr := stx.End(true); endErr != nil && err == nil {
				err = lazyerrors.Error(endErr)
			}
		}()
	}

	for i := range params.Updates {
		u := &params.Updates[i]

		c, err := db.Collection(params.Collection)
		if err != nil {
			if backends.ErrorCodeIs(err, backends.ErrorCodeCollectionNameIsInvalid) {
				msg := fmt.Sprintf("Invalid collection name: %s", params.Collection)
				return 0, 0, nil, handlererrors.NewCommandErrorMsgWithArgument(handlererrors.ErrInvalidNamespace, msg, "insert")
			}

			return 0, 0, nil, lazyerrors.Error(err)
		}

		result, err := h.updateOne(ctx, c, u)
		if err != nil {
			return 0, 0, nil, lazyerrors.Error(err)
		}

		matched += result.Matched.Count
		modified += result.Modified.Count

		if result.Upserted.Doc != nil {
			doc := result.Upserted.Doc
			upserted.Append(must.NotFail(types.NewDocument(
				"index", int32(i), // the statement's, as MongoDB answers
				"_id", must.NotFail(doc.Get("_id")),
			)))

			// in case of upsert, MongoDB sets the matched count to 1
			matched++
		}
	}

	return matched, modified, &upserted, nil
}

// updateOne runs one update statement u on c. It closes what it reads before it
// returns, so that a request of many statements holds one database connection at a
// time, not one per statement until the request ends.
func (h *Handler) updateOne(ctx context.Context, c backends.Collection, u *common.Update) (*common.UpdateResult, error) {
	if res, ok, err := h.replaceByID(ctx, c, u); ok {
		return res, err
	}

	var qp backends.QueryParams
	if !h.DisablePushdown {
		qp.Filter = u.Filter
	}

	res, err := c.Query(ctx, &qp)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	closer := iterator.NewMultiCloser()
	defer closer.Close()

	closer.Add(res.Iter)

	iter := common.FilterIterator(res.Iter, closer, u.Filter)

	if !u.Multi {
		iter = common.LimitIterator(iter, closer, 1)
	}

	return common.UpdateDocument(ctx, c, "update", iter, u)
}

// updatesByID reports whether every update finds its document by an exact _id that
// the backend looks up by its index (a string or an ObjectID), so that each reads at
// most one document.
func updatesByID(updates []common.Update) bool {
	for _, u := range updates {
		if u.Filter.Len() != 1 {
			return false
		}

		switch v, _ := u.Filter.Get("_id"); v.(type) {
		case string, types.ObjectID:
		default:
			return false
		}
	}

	return len(updates) > 0
}

// replaceByID runs u if it replaces the document with a given _id, without reading
// and decoding the stored document: it writes the replacement where the stored form
// differs, and looks up whether the document exists (without decoding it) only when
// nothing was written. It answers as the general way does (see common.UpdateDocument
// and processReplacementDoc), except that a replacement differing from the stored
// document only in the type of a number (1, 1.0, NumberLong(1)) is written and counted
// as modified, as MongoDB does, where comparing decoded documents would call it equal.
//
// It returns false, and does nothing, if u is not such a replacement.
func (h *Handler) replaceByID(ctx context.Context, c backends.Collection, u *common.Update) (*common.UpdateResult, bool, error) { //nolint:lll // for readability
	if !h.ReplaceWithoutRead || h.DisablePushdown || u.HasUpdateOperators || u.Filter.Len() != 1 {
		return nil, false, nil
	}

	id, _ := u.Filter.Get("_id")
	switch id.(type) {
	case string, types.ObjectID:
	default:
		return nil, false, nil
	}

	// The general way compares the stored document with the replacement as given: one
	// without _id never equals it (so it is always written and counted as modified); one
	// with the same _id first equals it exactly when the stored forms are the same. Any
	// other _id is left to the general way, which refuses to change it.
	var onlyChanged bool

	if u.Update.Has("_id") {
		if u.Update.Keys()[0] != "_id" || must.NotFail(u.Update.Get("_id")) != id {
			return nil, false, nil
		}

		onlyChanged = true
	}

	// what the general way writes: the _id, then the replacement's fields
	doc := must.NotFail(types.NewDocument("_id", id))
	for _, k := range u.Update.Keys() {
		doc.Set(k, must.NotFail(u.Update.Get(k)))
	}

	res := new(common.UpdateResult)

	// TODO https://github.com/FerretDB/FerretDB/issues/3454
	invalid := doc.ValidateData()

	if invalid == nil {
		updated, err := c.UpdateAll(ctx, &backends.UpdateAllParams{Docs: []*types.Document{doc}, OnlyChanged: onlyChanged})
		if err != nil {
			return nil, true, lazyerrors.Error(err)
		}

		if updated.Updated > 0 {
			res.Matched.Count = 1
			res.Modified.Count = 1

			return res, true, nil
		}
	}

	// Nothing was written: the document is missing, the same, or the replacement invalid.
	found, err := c.Query(ctx, &backends.QueryParams{Filter: u.Filter, OnlyRecordIDs: true})
	if err != nil {
		return nil, true, lazyerrors.Error(err)
	}

	_, _, err = found.Iter.Next()
	found.Iter.Close()

	switch {
	case err == nil:
		if invalid != nil {
			return nil, true, lazyerrors.Error(invalid)
		}

		res.Matched.Count = 1

		return res, true, nil
	case !errors.Is(err, iterator.ErrIteratorDone):
		return nil, true, lazyerrors.Error(err)
	case !u.Upsert:
		return res, true, nil
	case invalid != nil:
		return nil, true, lazyerrors.Error(invalid)
	}

	if _, err = c.InsertAll(ctx, &backends.InsertAllParams{Docs: []*types.Document{doc}}); err != nil {
		return nil, true, lazyerrors.Error(err)
	}

	res.Upserted.Doc = doc

	return res, true, nil
}
