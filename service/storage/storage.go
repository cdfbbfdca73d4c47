// Package storage opens the MongoDB database goodwill keeps everything in: a MongoDB
// deployment named by a URI, or, with none, an embedded MongoDB-compatible store
// (FerretDB on SQLite) running inside this process with its files in a data directory.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// Options says which store to open.
type Options struct {
	URI     string // a MongoDB URI; empty starts the embedded store
	DataDir string // the embedded store's directory
	DB      string // database name
	// Logger receives the embedded store's own log; nil discards it.
	Logger *slog.Logger
	// Log receives goodwill's notes about the embedded store's files (a data directory
	// tightened to 0700, or one that could not be); nil discards them.
	Log *slog.Logger
	// Monitor, if set, observes every command sent (tracing, metrics).
	Monitor *event.CommandMonitor
}

// Store is an open database connection.
type Store struct {
	Client   *mongo.Client
	DB       *mongo.Database
	Embedded bool
	URI      string // where the driver connects
	// FerretDB is set when the store is FerretDB (embedded or not): it uses no
	// secondary index for queries, so none are created.
	FerretDB bool

	stopEmbedded func()
}

// Open connects to the store, starting the embedded one if opts.URI is empty. The
// embedded store may be used by one process at a time: a second one fails to lock the
// data directory.
func Open(ctx context.Context, opts Options) (*Store, error) {
	s := &Store{}
	uri := opts.URI
	if uri == "" {
		var err error
		uri, s.stopEmbedded, err = startEmbedded(opts.DataDir, opts.Logger, opts.Log)
		if err != nil {
			return nil, err
		}
		s.Embedded = true
	}
	copts := options.Client().ApplyURI(uri).
		SetWriteConcern(writeconcern.Majority()).
		SetRetryWrites(true).
		SetServerSelectionTimeout(3 * time.Second).
		SetConnectTimeout(3 * time.Second).
		SetAppName("goodwill")
	if opts.Monitor != nil {
		copts.SetMonitor(opts.Monitor)
	}
	if err := copts.Validate(); err != nil {
		s.Close(ctx)
		return nil, fmt.Errorf("GOODWILL_MONGODB_URI: %w", err)
	}
	client, err := mongo.Connect(copts)
	if err != nil {
		s.Close(ctx)
		return nil, fmt.Errorf("connect to the store: %w", err)
	}
	s.Client = client
	s.URI = uri
	s.DB = client.Database(opts.DB)
	return s, nil
}

// Detect asks the store what it is and sets FerretDB.
func (s *Store) Detect(ctx context.Context) error {
	var info bson.M
	if err := s.DB.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fmt.Errorf("ask the store what it is: %w", err)
	}
	_, s.FerretDB = info["ferretdbVersion"]
	return nil
}

// Ping reports whether the store answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.Client.Ping(ctx, readpref.Primary())
}

// WaitReady pings until the store answers or ctx ends.
func (s *Store) WaitReady(ctx context.Context) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the store did not answer: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close disconnects and stops the embedded store.
func (s *Store) Close(ctx context.Context) error {
	var err error
	if s.Client != nil {
		err = s.Client.Disconnect(ctx)
	}
	if s.stopEmbedded != nil {
		s.stopEmbedded()
	}
	return err
}

// startEmbedded runs FerretDB with its SQLite backend in dir and returns its URI. It
// listens only on a Unix socket in a directory of its own that only this user may
// enter (0700, from os.MkdirTemp, whatever the length of dir's path), never on TCP:
// no other host, and no other local user, can reach the store.
func startEmbedded(dir string, logger, notes *slog.Logger) (string, func(), error) {
	if dir == "" {
		return "", nil, errors.New("GOODWILL_DATA_DIR: the embedded store needs a data directory")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("GOODWILL_DATA_DIR: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("GOODWILL_DATA_DIR: %w", err)
	}
	if notes == nil {
		notes = slog.New(slog.DiscardHandler)
	}
	tightenDir(dir, notes)
	lock, err := lockDir(dir)
	if err != nil {
		return "", nil, err
	}
	// The socket's own directory: short enough for any data directory (a socket path
	// has at most about 100 bytes), and closed to other users, whom the socket's
	// permissions alone would not keep out on every system.
	tmp := os.TempDir()
	if len(tmp) > 60 { // a long TMPDIR would make the socket's path too long
		tmp = "/tmp"
	}
	sockDir, err := os.MkdirTemp(tmp, "goodwill-store-")
	if err != nil {
		lock.Close()
		return "", nil, fmt.Errorf("embedded store socket: %w", err)
	}
	if err := os.Chmod(sockDir, 0o700); err != nil { // MkdirTemp makes 0700 already; be sure
		os.RemoveAll(sockDir)
		lock.Close()
		return "", nil, fmt.Errorf("embedded store socket: %w", err)
	}
	listener := ferretdb.ListenerConfig{Unix: filepath.Join(sockDir, "store.sock")}
	if logger == nil {
		// A handler that is never enabled: the store adds attributes to its logger on
		// every request, which a handler writing to io.Discard would still format.
		logger = slog.New(slog.DiscardHandler)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: listener,
		Handler:  "sqlite",
		// WAL with synchronous=NORMAL: a commit survives the process being killed
		// (kill -9) — it is in the operating system's hands — but not a power cut or
		// kernel crash, which MongoDB replica sets are for. FULL syncs every commit
		// to disk and costs several times the write throughput.
		//
		// secure_delete overwrites deleted content with zeros, so that what erasure and
		// retention remove does not linger in free pages of the database files.
		//
		// temp_store(memory) keeps statement journals — what undoes one statement of a
		// transaction — in memory: every multi-row insert opens one, and on disk it
		// cost an import a temporary file's writes per insert. A commit's durability
		// does not depend on it.
		SQLiteURL: sqliteURL(dir),
		Logger:    logger,
	})
	if err != nil {
		os.RemoveAll(sockDir)
		lock.Close()
		return "", nil, fmt.Errorf("start the embedded store: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
		os.RemoveAll(sockDir)
		lock.Close()
	}
	return f.MongoDBURI(), stop, nil
}

// sqliteURL is the embedded store's SQLite connection URL for the data directory dir.
func sqliteURL(dir string) string {
	return "file:" + dir + "/?_pragma=synchronous(NORMAL)&_pragma=secure_delete(on)&_pragma=temp_store(memory)"
}

// tightenDir makes dir 0700 when group or others may read, write or enter it: the
// store's files hold personal data. A failure is logged, not fatal: the operator may
// have reasons (an ACL, a mount) the process cannot change.
func tightenDir(dir string, notes *slog.Logger) {
	info, err := os.Stat(dir)
	if err != nil {
		notes.Warn("the data directory's permissions could not be checked", "dir", dir, "err", err)
		return
	}
	mode := info.Mode().Perm()
	if mode&0o077 == 0 {
		return
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		notes.Warn("the data directory is open to other users and could not be made private (0700)",
			"dir", dir, "mode", fmt.Sprintf("%#o", mode), "err", err)
		return
	}
	notes.Info("the data directory was open to other users; it is now private (0700)",
		"dir", dir, "was", fmt.Sprintf("%#o", mode))
}

// lockDir takes an exclusive lock on dir so that two processes never share it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("GOODWILL_DATA_DIR: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("GOODWILL_DATA_DIR: %s is in use by another goodwill process (the embedded store serves one process; use GOODWILL_MONGODB_URI for several)", dir)
	}
	return f, nil
}
