package meta

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The replicated state serves no HTTP and knows nothing of the master's
// API: no net/http, no master packages.
func TestImportsNoHTTP(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "net/http") || strings.HasPrefix(path, "github.com/granary-store/granary/master") {
				t.Errorf("%s imports %s", file, path)
			}
		}
	}
}
