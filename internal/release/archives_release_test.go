//go:build release

package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"testing"
)

const dist = "../../dist"

var targets = []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64", "windows_arm64"}

// files reads an archive's members.
func files(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			out[f.Name] = b
		}
		return out
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = b
	}
	return out
}

func TestArchives(t *testing.T) {
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatalf("%v: build the archives first with 'make release-snapshot'", err)
	}
	want := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			want[f[1]] = f[0]
		}
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			ext := ".tar.gz"
			bin := "vllmctl"
			if strings.HasPrefix(target, "windows") {
				ext, bin = ".zip", "vllmctl.exe"
			}
			matches, _ := filepath.Glob(filepath.Join(dist, "vllmctl_*_"+target+ext))
			if len(matches) != 1 {
				t.Fatalf("archives for %s: %v, want one", target, matches)
			}
			path := matches[0]
			data, _ := os.ReadFile(path)
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); want[filepath.Base(path)] != got {
				t.Errorf("checksums.txt has %q for %s, the file's sha256 is %s", want[filepath.Base(path)], filepath.Base(path), got)
			}
			members := files(t, path)
			for _, m := range []string{bin, "README.md", "completions/vllmctl.bash", "completions/vllmctl.zsh", "completions/vllmctl.fish", "completions/vllmctl.powershell"} {
				if len(members[m]) == 0 {
					t.Errorf("%s lacks %s (has %d members)", filepath.Base(path), m, len(members))
				}
			}
			if !bytes.Contains(members["completions/vllmctl.bash"], []byte("__start_vllmctl")) {
				t.Error("the bash completion is not cobra's script for vllmctl")
			}
			if target != goruntime.GOOS+"_"+goruntime.GOARCH {
				return
			}
			exe := filepath.Join(t.TempDir(), bin)
			if err := os.WriteFile(exe, members[bin], 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(exe, "--version").CombinedOutput()
			re := regexp.MustCompile(`^vllmctl \S+ \(commit [0-9a-f]{12}, built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n$`)
			if err != nil || !re.Match(out) {
				t.Errorf("--version of the %s binary: %q, %v; want version, 12-character commit and date stamped", target, out, err)
			}
		})
	}
	for _, m := range []string{"homebrew/Casks/vllmctl.rb", "scoop/vllmctl.json"} {
		if _, err := os.Stat(filepath.Join(dist, m)); err != nil {
			t.Errorf("manifest %s: %v", m, err)
		}
	}
}
