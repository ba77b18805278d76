package client_test

import (
	"go/importer"
	"go/token"
	"go/types"
	"strings"
	"testing"
)

// TestPublicSurfaceNamesNoInternalType type-checks this package from
// source and walks every exported name: a function's or method's
// parameters and results, a type's fields and methods, a variable's or
// constant's type. A Go program outside this module cannot name a type
// from an internal package, so each one reachable from the surface must
// be exported here under a name of its own (an alias is enough: the walk
// stops at a name this package declares).
func TestPublicSurfaceNamesNoInternalType(t *testing.T) {
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "source", nil)
	pkg, err := imp.Import("github.com/granary-store/granary/client")
	if err != nil {
		t.Fatalf("type-check client: %v", err)
	}
	w := &surfaceWalk{home: pkg, seen: map[types.Type]bool{}, aliased: map[*types.TypeName]bool{}}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		if tn, ok := scope.Lookup(name).(*types.TypeName); ok && tn.Exported() && tn.IsAlias() {
			if n, ok := types.Unalias(tn.Type()).(*types.Named); ok {
				w.aliased[n.Obj()] = true // nameable as client.<name>
			}
		}
	}
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		w.at = name
		switch o := obj.(type) {
		case *types.TypeName:
			w.declared(o.Type())
		default:
			w.walk(o.Type())
		}
	}
	for _, bad := range w.bad {
		t.Error(bad)
	}
	if w.names == 0 {
		t.Fatal("walked no exported name: the walk is broken")
	}
}

type surfaceWalk struct {
	home    *types.Package
	aliased map[*types.TypeName]bool // other packages' types this one aliases
	seen    map[types.Type]bool
	at      string
	bad     []string
	names   int
}

// declared walks a type this package declares: its underlying type and
// its exported methods.
func (w *surfaceWalk) declared(t types.Type) {
	w.names++
	named, ok := types.Unalias(t).(*types.Named) // an alias: what it names must be nameable too
	if !ok {
		w.walk(types.Unalias(t))
		return
	}
	w.walk(named.Underlying())
	ms := types.NewMethodSet(types.NewPointer(named)) // declared and promoted
	for i := range ms.Len() {
		if f := ms.At(i).Obj(); f.Exported() {
			w.walk(f.Type())
		}
	}
}

func (w *surfaceWalk) walk(t types.Type) {
	if t == nil || w.seen[t] {
		return
	}
	w.seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		if t.Obj().Pkg() == w.home {
			return // named here
		}
		w.walk(types.Unalias(t))
	case *types.Named:
		p := t.Obj().Pkg()
		switch {
		case p == nil || p == w.home || w.aliased[t.Obj()]:
			return // builtin (error), or named here: walked as a declaration
		case strings.Contains(p.Path(), "/internal/") || strings.HasSuffix(p.Path(), "/internal"):
			w.bad = append(w.bad, w.at+": reaches "+p.Path()+"."+t.Obj().Name()+", which a program outside the module cannot name")
		}
		// Another module's exported type (io.Reader, time.Time): its own
		// surface is that module's concern.
		for i := range t.TypeArgs().Len() {
			w.walk(t.TypeArgs().At(i))
		}
	case *types.Pointer:
		w.walk(t.Elem())
	case *types.Slice:
		w.walk(t.Elem())
	case *types.Array:
		w.walk(t.Elem())
	case *types.Map:
		w.walk(t.Key())
		w.walk(t.Elem())
	case *types.Chan:
		w.walk(t.Elem())
	case *types.Signature:
		w.walk(t.Params())
		w.walk(t.Results())
	case *types.Tuple:
		for v := range t.Variables() {
			w.walk(v.Type())
		}
	case *types.Struct:
		for f := range t.Fields() {
			if f.Exported() || f.Embedded() {
				w.walk(f.Type())
			}
		}
	case *types.Interface:
		for m := range t.Methods() {
			if m.Exported() {
				w.walk(m.Type())
			}
		}
	}
}
