// @ts-check
/**
 * Small DOM helpers shared by the pages: element building, messages, dates.
 * @module ui
 */
import { ApiError } from "./api.js";

/**
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attrs
 * Keys starting with `on` add listeners; `class`, `for`, `aria-*`, `data-*` set attributes;
 * `false`/`null`/`undefined` leave an attribute out.
 */

/**
 * Build an element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key === "value" && "value" in element) {
      // The default value too, so that a form's reset() brings it back rather than blanking it.
      if ("defaultValue" in element) /** @type {any} */ (element).defaultValue = String(value);
      /** @type {any} */ (element).value = String(value);
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/**
 * Replace the page's content.
 * @param {...(Node | string)} nodes
 */
export function render(...nodes) {
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  main.replaceChildren(...nodes);
  main.focus({ preventScroll: true });
}

/**
 * Show a short message that goes away by itself.
 * @param {string} text
 * @param {"info" | "error"} [kind]
 */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  box.append(item);
  setTimeout(() => item.remove(), 5000);
}

/**
 * A form's error line: shows the error's message (or clears it).
 * @param {HTMLElement} line
 * @param {unknown} error
 */
export function showError(line, error) {
  line.textContent = error ? (error instanceof Error ? error.message : String(error)) : "";
  line.hidden = !error;
}

/** @returns {HTMLParagraphElement} an empty error line, announced when it changes */
export function errorLine() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

/**
 * A labelled input, with a place under it for what is wrong with it (its description while
 * shown: see {@link showErrors}).
 * @param {string} label
 * @param {Attrs} attrs attributes of the input (give it a `name`)
 */
export function field(label, attrs) {
  const id = `f-${String(attrs.name)}-${Math.random().toString(36).slice(2, 7)}`;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, "aria-describedby": `${id}-error`, ...attrs }),
    h("span", { class: "field-error", id: `${id}-error`, "data-error-for": String(attrs.name), hidden: true }),
  );
}

/**
 * Show (or, with `null`, clear) what is wrong with one input of a form built with {@link field}.
 * @param {HTMLFormElement} form
 * @param {string} name the input's name
 * @param {string | null} text
 * @returns {boolean} whether the form has such a field
 */
export function showFieldError(form, name, text) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  const input = form.elements.namedItem(name);
  if (!slot || !(input instanceof HTMLElement)) return false;
  slot.textContent = text || "";
  /** @type {HTMLElement} */ (slot).hidden = !text;
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return true;
}

/**
 * Show a failure where it belongs: each refused field's words next to that field, the rest on
 * the form's error line; `null` clears them all. The first field in error gets the focus.
 * @param {HTMLFormElement} form
 * @param {HTMLElement} line the form's error line ({@link errorLine})
 * @param {unknown} failure
 * @param {Record<string, string>} [inputs] an API field name or problem type → the name of the
 *   input it is about, where that differs from the API's field name (e.g. `start_time` → `start`)
 */
export function showErrors(form, line, failure, inputs = {}) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    showFieldError(form, String(/** @type {HTMLElement} */ (slot).dataset.errorFor), null);
  }
  showError(line, null);
  if (!failure) return;
  /** @type {string[]} */
  const rest = [];
  /** @type {string[]} */
  const shown = [];
  if (failure instanceof ApiError && failure.fields.length > 0) {
    for (const error of failure.fields) {
      const name = inputs[error.field] || error.field;
      if (showFieldError(form, name, error.words)) shown.push(name);
      else rest.push(failure.fields.length > 1 ? `${error.field.replace(/_/g, " ")}: ${error.words}` : error.words);
    }
  } else if (failure instanceof ApiError && inputs[failure.type] && showFieldError(form, inputs[failure.type], failure.message)) {
    shown.push(inputs[failure.type]);
  } else {
    rest.push(failure instanceof Error ? failure.message : String(failure));
  }
  if (rest.length > 0) showError(line, rest.join(" "));
  const first = shown[0] && form.elements.namedItem(shown[0]);
  if (first instanceof HTMLElement) first.focus();
}

/**
 * A labelled checkbox.
 * @param {string} label
 * @param {string} name
 * @param {boolean} checked
 */
export function checkbox(label, name, checked = false) {
  return h("label", { class: "check" }, h("input", { type: "checkbox", name, checked }), label);
}

/**
 * Date and time in the browser's time zone.
 * @param {string | null | undefined} iso
 */
export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Go to another page of the client without reloading.
 * @param {string} path
 */
export function go(path) {
  history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

/**
 * Copy text, telling the person it worked.
 * @param {string} text
 */
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Copied to the clipboard.");
  } catch {
    window.prompt("Copy this:", text);
  }
}
