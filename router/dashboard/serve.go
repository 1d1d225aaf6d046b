package dashboard

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/index.html"))

// staticFiles serves the embedded assets under /dashboard/assets/.
var staticFiles = func() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/dashboard/assets/", http.FileServerFS(sub))
}()

// ServeHTTP serves "/" (the page), its assets under /dashboard/assets/ and its event stream at
// /dashboard/events. The page carries the query's token into every URL it uses.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/" || p == "/dashboard" || p == "/dashboard/":
		d.servePage(w, r)
	case p == "/dashboard/events":
		d.serveEvents(w, r)
	case strings.HasPrefix(p, "/dashboard/assets/") && p != "/dashboard/assets/index.html" && !strings.HasSuffix(p, "/"):
		w.Header().Set("Cache-Control", "no-cache")
		staticFiles.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (d *Dashboard) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	h.Set("X-Content-Type-Options", "nosniff")
	_ = page.Execute(w, struct{ Token, Title string }{
		Token: r.URL.Query().Get("token"), Title: "hydrakit-router " + d.cfg.version,
	})
}
