package mount_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs a program in dir. It goes through sh, which changes into dir
// after exec: this test process serves the mount, and a child between fork
// and exec must not touch the mount (the forking thread of the server is
// suspended until the exec, and the child's chdir into the mount could wait
// on it forever).
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `cd "$0" && exec "$@"`, dir, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}

// modes lists the permission bits and modification time of every file
// and directory under dir, as stat(1) prints them, with paths relative to
// dir.
func modes(t *testing.T, dir string) string {
	t.Helper()
	return run(t, dir, nil, "sh", "-c", `find . -mindepth 1 -exec stat -c '%n %a %Y' {} + | sort`)
}

// TestMountTools runs real programs on the mount: tar, diff, cp -a, rsync,
// git and go build.
func TestMountTools(t *testing.T) {
	e := startMount(t, nil)
	src, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "src.tar")
	run(t, src, nil, "tar", "-cf", tarball, "client", "internal/proto")

	t.Run("tar-diff", func(t *testing.T) {
		dst := filepath.Join(e.dir, "tree")
		os.Mkdir(dst, 0o755)
		run(t, dst, nil, "tar", "-xf", tarball)
		ref := t.TempDir()
		run(t, ref, nil, "tar", "-xf", tarball)
		run(t, e.dir, nil, "diff", "-r", ref, dst)
	})

	t.Run("cp-a", func(t *testing.T) {
		ref := t.TempDir()
		run(t, ref, nil, "tar", "-xf", tarball)
		run(t, e.dir, nil, "cp", "-a", ref, filepath.Join(e.dir, "copied"))
		run(t, e.dir, nil, "diff", "-r", ref, filepath.Join(e.dir, "copied"))
		back := filepath.Join(t.TempDir(), "back")
		run(t, e.dir, nil, "cp", "-a", filepath.Join(e.dir, "copied"), back)
		run(t, e.dir, nil, "diff", "-r", ref, back)
	})

	t.Run("rsync", func(t *testing.T) {
		ref := t.TempDir()
		run(t, ref, nil, "tar", "-xf", tarball)
		// Modes other than the tarball's 0644 and 0755 as well.
		for name, mode := range map[string]os.FileMode{"client/doc.go": 0o600, "client/client.go": 0o755, "internal/proto": 0o750} {
			if err := os.Chmod(filepath.Join(ref, name), mode); err != nil {
				t.Fatal(err)
			}
		}
		in := filepath.Join(e.dir, "synced")
		run(t, e.dir, nil, "rsync", "-a", ref+"/", in+"/")
		run(t, e.dir, nil, "diff", "-r", ref, in)
		// Modes and times arrived: a second rsync finds nothing to change,
		// and stat agrees with the source.
		if out := run(t, e.dir, nil, "rsync", "-a", "--itemize-changes", ref+"/", in+"/"); out != "" {
			t.Fatalf("a second rsync -a changed things:\n%s", out)
		}
		if want, got := modes(t, ref), modes(t, in); got != want {
			t.Fatalf("modes on the mount (stat -c %%a):\n%s\nin the source:\n%s", got, want)
		}
		back := filepath.Join(t.TempDir(), "back")
		run(t, e.dir, nil, "rsync", "-a", in+"/", back+"/")
		run(t, e.dir, nil, "diff", "-r", ref, back)
		if want, got := modes(t, ref), modes(t, back); got != want {
			t.Fatalf("modes copied back out:\n%s\nin the source:\n%s", got, want)
		}
	})

	t.Run("git", func(t *testing.T) {
		repo := filepath.Join(e.dir, "repo")
		os.Mkdir(repo, 0o755)
		gitEnv := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1"}
		run(t, repo, gitEnv, "git", "init", "-q", "-b", "main")
		run(t, repo, gitEnv, "tar", "-xf", tarball)
		run(t, repo, gitEnv, "git", "add", ".")
		run(t, repo, gitEnv, "git", "commit", "-q", "-m", "first")
		os.WriteFile(filepath.Join(repo, "client", "doc.go"), []byte("package client\n"), 0o644)
		run(t, repo, gitEnv, "git", "commit", "-q", "-am", "second")
		run(t, repo, gitEnv, "git", "gc", "-q")
		run(t, repo, gitEnv, "git", "fsck", "--full", "--strict")
		if log := run(t, repo, gitEnv, "git", "log", "--oneline"); strings.Count(log, "\n") != 2 {
			t.Fatalf("git log: %q", log)
		}
		if st := run(t, repo, gitEnv, "git", "status", "--porcelain"); st != "" {
			t.Fatalf("git status after commit: %q", st)
		}
	})

	t.Run("go-build", func(t *testing.T) {
		mod := filepath.Join(e.dir, "gomod")
		os.MkdirAll(filepath.Join(mod, "greet"), 0o755)
		os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/hello\n\ngo 1.22\n"), 0o644)
		os.WriteFile(filepath.Join(mod, "greet", "greet.go"), []byte("package greet\n\nfunc Hello() string { return \"hello from the mount\" }\n"), 0o644)
		os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/hello/greet\"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n"), 0o644)
		// The build cache stays local (it holds the standard library,
		// compiled already): the module, its build and its binary are
		// on the mount.
		goEnv := []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"}
		run(t, mod, goEnv, "go", "vet", "./...")
		run(t, mod, goEnv, "go", "build", "-o", "hello", ".")
		if out := run(t, mod, nil, "./hello"); out != "hello from the mount\n" {
			t.Fatalf("built program says %q", out)
		}
	})
}
