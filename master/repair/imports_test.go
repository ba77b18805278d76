package repair

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The planner stays pure: the standard library, placement and proto only
// (no Badger, no net/http, no master).
func TestImportsOnlyPlacementAndProto(t *testing.T) {
	allowed := map[string]bool{
		"github.com/granary-store/granary/placement":      true,
		"github.com/granary-store/granary/internal/proto": true,
	}
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
			std := !strings.Contains(strings.Split(path, "/")[0], ".")
			if (!std && !allowed[path]) || path == "net/http" {
				t.Errorf("%s imports %s", file, path)
			}
		}
	}
}
