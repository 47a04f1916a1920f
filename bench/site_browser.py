"""Open the built course website in a real headless Chromium and check what a student's browser would see.

    .venv/bin/python bench/site_browser.py                 # build (make site, reusing executed notebooks), then check
    .venv/bin/python bench/site_browser.py --fresh         # build from scratch (executes every notebook again)
    .venv/bin/python bench/site_browser.py --no-build      # check out/site/html as it is

Needs Debian's chromium and chromium-driver (``apt-get install -y chromium chromium-driver``); selenium drives
them (no browser is downloaded). The site is served by a local HTTP server on 127.0.0.1 while Chromium runs with
its network services off. For every page: it loads (document complete) without a console error, every image
decodes, and every video plays (readyState reaches HAVE_CURRENT_DATA and currentTime advances). Prints and stores
(bench/results/site_browser.json) the site's total size, its largest video and the build time. Not run in CI.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ lives beside bench/

from tools.site import VIDEO_LIMIT_MB, build  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "site_browser.json"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
         "--window-size=1280,900"]

VIDEO_JS = """
const done = arguments[arguments.length - 1];
const videos = Array.from(document.querySelectorAll('video'));
const out = [];
let pending = videos.length;
if (!pending) { done(out); }
videos.forEach((v, i) => {
  const src = v.currentSrc || (v.querySelector('source') || {}).src || v.src;
  const rec = {src: src.split('/').pop(), ready: v.readyState, t0: null, t1: null, error: null};
  out.push(rec);
  v.muted = true;
  const finish = () => { rec.ready = v.readyState; rec.t1 = v.currentTime;
                         rec.error = v.error ? v.error.code : null; if (--pending === 0) done(out); };
  v.play().then(() => {
    const start = Date.now();
    const wait = () => {
      if (v.readyState >= 2 && v.currentTime > 0) {
        if (rec.t0 === null) { rec.t0 = v.currentTime; setTimeout(finish, 1000); return; }
      }
      if (Date.now() - start > 15000) { finish(); return; }
      setTimeout(wait, 100);
    };
    wait();
  }).catch(e => { rec.error = String(e); if (--pending === 0) done(out); });
});
"""

REQUESTS_JS = """
return performance.getEntriesByType('resource').map(e => e.name);
"""

WEIGHT_JS = """
const entries = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
return entries.reduce((s, e) => s + (e.encodedBodySize || 0), 0);
"""

IMAGES_JS = """
return Array.from(document.images).map(im => [im.getAttribute('src').slice(0, 80), im.complete && im.naturalWidth > 0]);
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the console errors say what failed to load
        pass


def serve(folder: Path):
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(binary).is_file() or not Path(driver_path).is_file():
        raise SystemExit("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=driver_path))
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    return driver, version


def check_pages(html: Path) -> dict:
    server = serve(html)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    driver, version = chromium()
    pages = {}
    try:
        for page in sorted(html.rglob("*.html")):
            rel = page.relative_to(html).as_posix()
            if rel.startswith("_"):  # the theme's template fragments under _static/, not pages
                continue
            driver.get(f"{base}/{rel}")
            t0 = time.time()
            while driver.execute_script("return document.readyState") != "complete" and time.time() - t0 < 30:
                time.sleep(0.1)
            time.sleep(0.5)  # scripts that run after load (MathJax, the theme) get to log their errors
            videos = driver.execute_async_script(VIDEO_JS)
            images = driver.execute_script(IMAGES_JS)
            weight = driver.execute_script(WEIGHT_JS)
            external = [u for u in driver.execute_script(REQUESTS_JS) if not u.startswith(base)]
            logs = driver.get_log("browser")
            errors = [e["message"] for e in logs if e.get("level") == "SEVERE"]
            for v in videos:
                v["plays"] = v["error"] is None and v["t0"] is not None and v["t1"] is not None and v["t1"] > v["t0"]
            pages[rel] = {"loaded": driver.execute_script("return document.readyState") == "complete",
                          "console_errors": errors, "external_requests": external, "images": len(images),
                          "page_weight_mb": round(weight / 1e6, 2),
                          "broken_images": [src for src, ok in images if not ok], "videos": videos}
            good = not errors and not external and all(v["plays"] for v in videos) and all(ok for _, ok in images)
            flag = "ok" if good else "FAIL"
            print(f"  {flag:4} {rel:<40} images {len(images):3d}  videos {len(videos)}  console errors {len(errors)}  "
                  f"loaded {weight / 1e6:5.2f} MB", flush=True)
    finally:
        driver.quit()
        server.shutdown()
    return {"chromium": version, "pages": pages}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fresh", action="store_true", help="build from scratch: the executed copies are removed first")
    ap.add_argument("--no-build", action="store_true", help="check out/site/html without building")
    ap.add_argument("--out", default=None, help="build folder (default: out/site); its html/ is checked")
    ap.add_argument("--note", default="", help="a line stored with the result (what tree was built, the load)")
    ap.add_argument("--no-save", action="store_true", help="print only; do not write bench/results/site_browser.json")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else ROOT / "out" / "site"
    if args.fresh and (out / "executed").is_dir():
        shutil.rmtree(out / "executed")  # every notebook is executed again
    if not args.no_build:
        print(f"building the site into {out} ({'from scratch' if args.fresh else 'reusing executed notebooks'}) …",
              flush=True)
        build(ROOT, out)
    info = json.loads((out / "build.json").read_text())
    html = out / "html"
    files = [f for f in html.rglob("*") if f.is_file()]
    videos = sorted(((f.name, f.stat().st_size) for f in (html / "videos").glob("*.mp4")), key=lambda v: -v[1]) \
        if (html / "videos").is_dir() else []
    print(f"checking {html} in headless Chromium …", flush=True)
    result = check_pages(html)
    pages = result["pages"]
    n_videos = sum(len(p["videos"]) for p in pages.values())
    summary = {
        "pages": len(pages),
        "pages_with_console_errors": sorted(k for k, p in pages.items() if p["console_errors"]),
        "pages_not_loaded": sorted(k for k, p in pages.items() if not p["loaded"]),
        "external_requests": sorted({u for p in pages.values() for u in p["external_requests"]}),
        "images": sum(p["images"] for p in pages.values()),
        "broken_images": sum(len(p["broken_images"]) for p in pages.values()),
        "videos_on_pages": n_videos,
        "videos_playing": sum(v["plays"] for p in pages.values() for v in p["videos"]),
        "video_files": len(videos),
        "largest_video": {"file": videos[0][0], "mb": round(videos[0][1] / 1e6, 3)} if videos else None,
        "video_limit_mb": VIDEO_LIMIT_MB,
        "heaviest_page": max(({"page": k, "mb": p["page_weight_mb"]} for k, p in pages.items()),
                             key=lambda r: r["mb"], default=None),
        "site_mb": round(sum(f.stat().st_size for f in files) / 1e6, 2),
        "site_files": len(files),
        "built_from_commit": info.get("commit"),
        "build_seconds": info["build_seconds"],
        "build_executed_notebooks": sorted(k for k, v in info["notebooks"].items() if not v["reused"]),
        "build_reused_notebooks": sorted(k for k, v in info["notebooks"].items() if v["reused"]),
        "sphinx_seconds": info["sphinx_seconds"],
    }
    ok = not summary["pages_with_console_errors"] and not summary["pages_not_loaded"] \
        and not summary["external_requests"] and not summary["broken_images"] and summary["videos_playing"] == n_videos
    print(f"{'OK' if ok else 'FAILED'}: {summary['pages']} pages, requests off the site "
          f"{len(summary['external_requests'])}, console errors on "
          f"{len(summary['pages_with_console_errors'])}, images {summary['images']} ({summary['broken_images']} "
          f"broken), videos playing {summary['videos_playing']}/{n_videos}; site {summary['site_mb']} MB in "
          f"{summary['site_files']} files, largest video {summary['largest_video']}, heaviest page "
          f"{summary['heaviest_page']}; build "
          f"{summary['build_seconds']:.0f} s (executed: {len(summary['build_executed_notebooks'])} notebooks, "
          f"reused: {len(summary['build_reused_notebooks'])}; Sphinx {summary['sphinx_seconds']:.0f} s)")
    if not args.no_save:
        record = {"command": "python bench/site_browser.py" + (" --fresh" if args.fresh else ""),
                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "machine": f"{platform.machine()}, 2 cores shared", "note": args.note,
                  "chromium": result["chromium"], "flags": FLAGS, "ok": ok, **summary, "per_page": pages}
        RESULTS.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"stored {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
