// @ts-check
/**
 * Entry point: restores the session, then shows the page for `location.pathname`. Page modules
 * load on demand, so the first load only fetches what the current page needs.
 * @module main
 */
import { session } from "./session.js";
import { go, h, render, toast } from "./ui.js";

/**
 * @typedef {() => void} Cleanup
 * @typedef {{show: (params: Record<string, string>) => Promise<Cleanup | void>}} PageModule
 * @typedef {{pattern: RegExp, load: () => Promise<PageModule>, signedIn: boolean, title: string}} Route
 */

/** @type {Route[]} */
const ROUTES = [
  { pattern: /^\/signin$/, load: () => import("./pages/auth.js"), signedIn: false, title: "Sign in" },
  { pattern: /^\/signup$/, load: () => import("./pages/auth.js"), signedIn: false, title: "Sign up" },
  { pattern: /^\/m\/(?<code>[A-Za-z0-9-]{1,32})$/, load: () => import("./pages/meeting.js"), signedIn: false, title: "Meeting" },
  { pattern: /^\/profile$/, load: () => import("./pages/profile.js"), signedIn: true, title: "Profile" },
  { pattern: /^\/admin$/, load: () => import("./pages/admin.js"), signedIn: true, title: "Admin" },
  { pattern: /^\/recordings$/, load: () => import("./pages/recordings.js"), signedIn: true, title: "Recordings" },
  { pattern: /^\/$/, load: () => import("./pages/dashboard.js"), signedIn: true, title: "Meetings" },
];

/** @type {Cleanup | null} */
let cleanup = null;

function updateTopbar() {
  const bar = /** @type {HTMLElement} */ (document.getElementById("topbar"));
  bar.hidden = !session.signedIn || document.body.classList.contains("in-room");
  for (const link of bar.querySelectorAll("[data-admin]")) {
    /** @type {HTMLElement} */ (link).hidden = session.user?.role !== "admin";
  }
  for (const link of bar.querySelectorAll("a[data-nav]")) {
    const current = link.getAttribute("href") === location.pathname;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (cleanup) {
    const done = cleanup;
    cleanup = null;
    done();
  }
  document.body.classList.remove("in-room");
  const path = location.pathname;
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  if (!match || !match.m) {
    document.title = "Page not found · Parley";
    updateTopbar();
    render(h("section", { class: "card narrow stack" }, h("h1", {}, "Page not found"), h("p", {}, "There is no page at this address. Check the link, or start again from your meetings."), h("p", {}, h("a", { class: "button primary", href: "/" }, "Go to your meetings"))));
    return;
  }
  if (match.r.signedIn && !session.signedIn) {
    go(`/signin?next=${encodeURIComponent(path)}`);
    return;
  }
  document.title = `${match.r.title} · Parley`;
  updateTopbar();
  try {
    const page = await match.r.load();
    cleanup = (await page.show({ ...(match.m.groups || {}), path })) || null;
  } catch (error) {
    console.error(error);
    render(h("section", { class: "card narrow" }, h("h1", {}, "Something went wrong"), h("p", { class: "error" }, error instanceof Error ? error.message : String(error)), h("p", {}, h("a", { href: "/" }, "Back to your meetings"))));
  }
  updateTopbar();
}

document.addEventListener("click", (event) => {
  const link = /** @type {HTMLElement} */ (event.target).closest?.("a[href]");
  if (!link || !(link instanceof HTMLAnchorElement)) return;
  if (link.origin !== location.origin || link.hasAttribute("download") || link.target) return;
  if (link.pathname.startsWith("/api/") || link.pathname.startsWith("/static/")) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  go(link.pathname + link.search);
});

document.getElementById("sign-out")?.addEventListener("click", async () => {
  await session.signOut();
  toast("Signed out.");
  go("/signin");
});

window.addEventListener("popstate", () => void route());
session.addEventListener("change", updateTopbar);
window.addEventListener("parley:room", updateTopbar);

await session.renew();
await route();
