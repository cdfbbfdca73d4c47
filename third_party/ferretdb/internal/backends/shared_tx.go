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

package backends

import (
	"context"
)

// SharedTx lets the operations of one command on one database share a transaction:
// a backend that supports it begins the transaction on the first Query, InsertAll or
// UpdateAll whose context carries the SharedTx (see WithSharedTx), runs that and every
// later such operation on the same database in it, and the handler ends it with End.
// Backends that do not support it ignore it: each operation then runs on its own, as
// without it.
//
// An operation that fails inside the shared transaction leaves the effects of the
// operations before it in place, as when each runs on its own; End commits them.
//
// Iterators returned by Query under a SharedTx must be closed before End.
type SharedTx struct {
	// Owner identifies the database the transaction belongs to; an operation on another
	// database runs on its own.
	Owner any

	// Tx is the backend's transaction.
	Tx any

	// Commit and Rollback end the transaction.
	Commit   func() error
	Rollback func() error
}

type sharedTxKey struct{}

// WithSharedTx returns a context whose operations share a transaction, and that transaction.
func WithSharedTx(ctx context.Context) (context.Context, *SharedTx) {
	stx := new(SharedTx)
	return context.WithValue(ctx, sharedTxKey{}, stx), stx
}

// SharedTxFrom returns the shared transaction ctx carries, or nil.
func SharedTxFrom(ctx context.Context) *SharedTx {
	stx, _ := ctx.Value(sharedTxKey{}).(*SharedTx)
	return stx
}

// End commits the transaction if one began. With commit false, it rolls it back.
func (stx *SharedTx) End(commit bool) error {
	if stx.Commit == nil {
		return nil
	}

	end := stx.Rollback
	if commit {
		end = stx.Commit
	}

	stx.Commit, stx.Rollback, stx.Tx, stx.Owner = nil, nil, nil, nil

	return end()
}
