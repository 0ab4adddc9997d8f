package endpoints

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestUnixSocketModeRace: whoever can write in the socket's directory
// cannot make the listener set its mode on another file, by swapping the
// socket for a symlink between the bind and the chmod; the socket ends up
// at its path with exactly the mode asked for, whatever the umask.
func TestUnixSocketModeRace(t *testing.T) {
	cases := []struct {
		name   string
		attack func(t *testing.T, path, victim string)
	}{
		{"no-attack", func(*testing.T, string, string) {}},
		{"socket-swapped-for-a-symlink-after-bind", func(t *testing.T, path, victim string) {
			os.Remove(path)
			if err := os.Symlink(victim, path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, victim := filepath.Join(dir, "s.sock"), filepath.Join(dir, "victim")
			if err := os.WriteFile(victim, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			e, err := New("unix", map[string]any{"listen": path, "mode": "0666"})
			if err != nil {
				t.Fatal(err)
			}
			testHookBound = func(string) { tc.attack(t, path, victim) }
			defer func() { testHookBound = nil }()
			fd, err := e.Listen()
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			defer e.Release(fd)
			if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o600 {
				t.Fatalf("the victim's mode became %v: the chmod followed a symlink planted at the path", fi.Mode().Perm())
			}
			fi, err := os.Lstat(path)
			if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
				t.Fatalf("at the path: %v, %v; want a socket of mode 0666", fi.Mode(), err)
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatalf("the socket at the path is not the one listening: %v", err)
			}
			c.Close()
			if left, _ := filepath.Glob(filepath.Join(dir, ".pxroute-bind-*")); len(left) > 0 {
				t.Fatalf("private directories left behind: %v", left)
			}
		})
	}
}

// TestUnixSocketRefusesPlantedSymlink: a symlink already at the path is
// neither followed nor replaced: the listen fails and says why.
func TestUnixSocketRefusesPlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	path, victim := filepath.Join(dir, "s.sock"), filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	e, err := New("unix", map[string]any{"listen": path, "mode": "0666"})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := e.Listen()
	if err == nil {
		e.Release(fd)
		t.Fatal("listened at a path holding a symlink")
	}
	if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o600 {
		t.Fatalf("the symlink's target's mode became %v", fi.Mode().Perm())
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced by %v", fi.Mode())
	}
}
