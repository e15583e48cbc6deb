// @ts-check
/**
 * Sign-in and sign-up pages.
 * @module pages/auth
 */
import { session } from "../session.js";
import { errorLine, field, go, h, render, showErrors } from "../ui.js";

/** Where to go after signing in: the `next` parameter if it is a local path. */
function nextPath() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

/** @param {Record<string, string>} params */
export async function show(params) {
  if (session.signedIn) {
    go(nextPath());
    return;
  }
  const signingUp = params.path === "/signup";
  const error = errorLine();
  const form = h(
    "form",
    { class: "card narrow stack", novalidate: true, "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title" }, signingUp ? "Create your account" : "Sign in to Parley"),
    signingUp && field("Your name", { name: "display_name", required: true, autocomplete: "name", maxlength: 64 }),
    field(signingUp ? "Username" : "Username or email", { name: "username", required: true, autocomplete: "username", autocapitalize: "none" }),
    signingUp && field("Email", { name: "email", type: "email", required: true, autocomplete: "email" }),
    field("Password", { name: "password", type: "password", required: true, autocomplete: signingUp ? "new-password" : "current-password", minlength: signingUp ? 8 : 1 }),
    error,
    h("button", { type: "submit", class: "primary" }, signingUp ? "Sign up" : "Sign in"),
    h(
      "p",
      { class: "muted" },
      signingUp ? "Already have an account? " : "New here? ",
      h("a", { href: signingUp ? `/signin${location.search}` : `/signup${location.search}` }, signingUp ? "Sign in" : "Create an account"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    button.disabled = true;
    showErrors(form, error, null);
    try {
      if (signingUp) {
        await session.signUp({
          username: String(data.username).trim(),
          email: String(data.email).trim(),
          password: String(data.password),
          display_name: String(data.display_name).trim(),
        });
      } else {
        await session.signIn(String(data.username).trim(), String(data.password));
      }
      go(nextPath());
    } catch (failure) {
      showErrors(form, error, failure, { "weak-password": "password" });
    } finally {
      button.disabled = false;
    }
  });
  render(form);
  /** @type {HTMLInputElement | null} */ (form.querySelector("input"))?.focus();
}
