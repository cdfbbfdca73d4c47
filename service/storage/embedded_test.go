package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/service/storage"
)

// openEmbedded starts an embedded store in dir, ready, closed when t ends (or by the
// returned function, which may be called once before that).
func openEmbedded(t *testing.T, dir string, notes *slog.Logger) (*storage.Store, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := storage.Open(ctx, storage.Options{DataDir: dir, DB: "t", Log: notes})
	if err != nil {
		t.Fatalf("open the embedded store: %v", err)
	}
	closed := false
	closeStore := func() {
		if closed {
			return
		}
		closed = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	t.Cleanup(closeStore)
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return s, closeStore
}

// tcpListeners returns the inodes of the TCP sockets this process listens on.
func tcpListeners(t *testing.T) map[string]bool {
	t.Helper()
	listening := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 9 && fields[3] == "0A" { // TCP_LISTEN
				listening[fields[9]] = true
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no /proc, which CI's Linux has: %v", err)
		}
		t.Skipf("no /proc: %v", err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			inode = strings.TrimSuffix(inode, "]")
			if listening[inode] {
				mine[inode] = true
			}
		}
	}
	return mine
}

// TestEmbeddedStoreListensOnPrivateSocket: the embedded store is reached through a
// Unix socket in a directory only this user may enter — outside the data directory,
// so that a long data directory path changes nothing — and never over TCP.
func TestEmbeddedStoreListensOnPrivateSocket(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		// a short path, which used to hold the socket itself
		{"short data dir", func(t *testing.T) string { return t.TempDir() }},
		// a path too long for a socket inside it, which used to fall back to TCP
		{"long data dir", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), strings.Repeat("a-rather-long-directory-name-", 6))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			before := tcpListeners(t)
			s, _ := openEmbedded(t, dir, nil)
			for inode := range tcpListeners(t) {
				if !before[inode] {
					t.Errorf("the embedded store listens on TCP (socket inode %s)", inode)
				}
			}
			// The driver wants the socket's path, escaped, as the host.
			host, _, _ := strings.Cut(strings.TrimPrefix(s.URI, "mongodb://"), "/")
			sock, err := url.PathUnescape(host)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(sock, "/") || !strings.HasSuffix(sock, ".sock") {
				t.Fatalf("store URI %q does not name a Unix socket", s.URI)
			}
			if strings.HasPrefix(sock, dir) {
				t.Errorf("socket %s is inside the data directory %s", sock, dir)
			}
			info, err := os.Stat(filepath.Dir(sock))
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o700 {
				t.Errorf("the socket's directory %s has mode %#o, want 0700", filepath.Dir(sock), perm)
			}
			if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
				t.Errorf("%s is not a socket: %v", sock, err)
			}
		})
	}
}

// TestEmbeddedStoreTightensDataDir: a data directory that group or others may read is
// made 0700 at start, and the log says so.
func TestEmbeddedStoreTightensDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var logs bytes.Buffer
	openEmbedded(t, dir, slog.New(slog.NewTextHandler(&logs, nil)))
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode %#o, want 0700", perm)
	}
	if !strings.Contains(logs.String(), "0700") || !strings.Contains(logs.String(), dir) {
		t.Errorf("no log line names the tightened directory; log:\n%s", logs.String())
	}

	// A private directory is left alone, without a word.
	logs.Reset()
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	openEmbedded(t, private, slog.New(slog.NewTextHandler(&logs, nil)))
	if logs.Len() != 0 {
		t.Errorf("a private data directory was logged about:\n%s", logs.String())
	}
}

// TestEmbeddedStoreSecureDelete: what is deleted from the embedded store does not
// linger in its files (SQLite's secure_delete).
func TestEmbeddedStoreSecureDelete(t *testing.T) {
	dir := t.TempDir()
	s, closeStore := openEmbedded(t, dir, nil)
	ctx := context.Background()
	coll := s.DB.Collection("people")
	marker := "erase-me-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var docs []any
	for i := range 50 {
		docs = append(docs, bson.M{"_id": i, "name": fmt.Sprintf("%s-%d", marker, i)})
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteMany(ctx, bson.M{}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "kept", "name": "kept"}); err != nil {
		t.Fatal(err)
	}
	closeStore()      // checkpoints the write-ahead log into the database file
	keptSeen := false // the scan reads the files the store keeps its data in
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s still holds deleted content", p)
		}
		keptSeen = keptSeen || bytes.Contains(b, []byte("kept"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !keptSeen {
		t.Error("no file holds the document kept: the scan missed the store's files")
	}
}

// TestEmbeddedStoreSQLiteVersion: the running embedded store is on SQLite 3.50.2 or
// later (earlier releases have known memory-safety bugs). The store names its
// backend in getLog's startup warnings.
func TestEmbeddedStoreSQLiteVersion(t *testing.T) {
	s, _ := openEmbedded(t, t.TempDir(), nil)
	ctx := context.Background()
	// The backend's version is known once it has opened a database.
	if _, err := s.DB.Collection("c").InsertOne(ctx, bson.M{"_id": 1}); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Log []string `bson:"log"`
	}
	if err := s.Client.Database("admin").RunCommand(ctx, bson.D{{Key: "getLog", Value: "startupWarnings"}}).Decode(&res); err != nil {
		t.Fatal(err)
	}
	var version string
	for _, line := range res.Log {
		if m := regexp.MustCompile(`SQLite (\d+\.\d+\.\d+)`).FindStringSubmatch(line); m != nil {
			version = m[1]
		}
	}
	if version == "" {
		t.Fatalf("the store does not name its SQLite version: %q", res.Log)
	}
	if !atLeast(version, [3]int{3, 50, 2}) {
		t.Errorf("embedded store runs SQLite %s, want 3.50.2 or later", version)
	}
}

func atLeast(version string, want [3]int) bool {
	parts := strings.Split(version, ".")
	for i := range 3 {
		n, _ := strconv.Atoi(parts[i])
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}
