// @ts-check
/**
 * Admin: users (search, paging, role, enable/disable) and platform statistics.
 * @module pages/admin
 */
import { paths } from "../api.js";
import { session } from "../session.js";
import { h, render, toast, when } from "../ui.js";

const PAGE_SIZE = 20;

export async function show() {
  if (session.user?.role !== "admin") {
    render(h("section", { class: "card narrow" }, h("h1", {}, "Admins only"), h("p", {}, "This page is for administrators.")));
    return;
  }
  let page = 1;
  let query = "";
  const stats = h("dl", { class: "stats", id: "platform-stats" });
  const rows = h("tbody");
  const pager = h("div", { class: "pager" });
  const search = h("input", { type: "search", name: "q", placeholder: "Search name, username or email", "aria-label": "Search users" });
  const searchForm = h("form", { class: "inline", role: "search" }, search, h("button", { type: "submit" }, "Search"));
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    query = search.value.trim();
    page = 1;
    void loadUsers();
  });

  /** @param {string} id @param {Record<string, unknown>} change */
  const patch = async (id, change) => {
    try {
      await session.api.request(paths.adminUser(id), { method: "PATCH", json: change });
      toast("Saved.");
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), "error");
    }
    await loadUsers();
  };

  const loadUsers = async () => {
    try {
      const data = await session.api.request(paths.adminUsers(), { query: { q: query, page, page_size: PAGE_SIZE } });
      rows.replaceChildren(...data.items.map((/** @type {import("../session.js").User} */ u) => {
        const role = h("select", { "aria-label": `Role of ${u.username}`, onchange: (e) => void patch(u.id, { role: /** @type {HTMLSelectElement} */ (e.target).value }) },
          h("option", { value: "user", selected: u.role === "user" }, "user"),
          h("option", { value: "admin", selected: u.role === "admin" }, "admin"));
        return h("tr", { "data-user": u.username },
          h("td", {}, u.display_name), h("td", {}, u.username), h("td", {}, u.email),
          h("td", {}, role),
          h("td", {}, u.is_active ? "active" : "disabled"),
          h("td", {}, when(u.created_at)),
          h("td", {}, h("button", { type: "button", onclick: () => void patch(u.id, { is_active: !u.is_active }) }, u.is_active ? "Disable" : "Enable")));
      }));
      const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
      pager.replaceChildren(
        h("button", { type: "button", disabled: page <= 1, onclick: () => { page -= 1; void loadUsers(); } }, "Previous"),
        h("span", {}, `Page ${page} of ${pages} · ${data.total} users`),
        h("button", { type: "button", disabled: page >= pages, onclick: () => { page += 1; void loadUsers(); } }, "Next"));
    } catch (error) {
      if (error instanceof Error) toast(error.message, "error");
    }
  };

  const loadStats = async () => {
    try {
      const data = await session.api.request(paths.meetingStats(), { query: { scope: "global" } });
      const p = data.platform || {};
      const items = [
        ["Meetings", p.meetings_total], ["Live now", p.live_meetings], ["People in meetings", p.live_participants],
        ["Participants ever", p.participants_total], ["Hosts", p.hosts_total],
        ...Object.entries(p.meetings_by_status || {}).map(([k, v]) => [`Meetings ${k}`, v]),
      ];
      stats.replaceChildren(...items.flatMap(([k, v]) => [h("dt", {}, String(k)), h("dd", {}, String(v ?? 0))]));
    } catch (error) {
      if (error instanceof Error) toast(error.message, "error");
    }
  };

  render(
    h("h1", {}, "Administration"),
    h("section", { class: "card" }, h("h2", {}, "Platform"), stats),
    h("section", { class: "card" }, h("h2", {}, "Users"), searchForm,
      h("div", { class: "table-wrap" }, h("table", { id: "users" },
        h("thead", {}, h("tr", {}, ...["Name", "Username", "Email", "Role", "Status", "Joined"].map((t) => h("th", { scope: "col" }, t)),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))), rows)),
      pager),
  );
  await Promise.all([loadUsers(), loadStats()]);
}
