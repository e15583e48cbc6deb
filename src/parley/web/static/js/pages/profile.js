// @ts-check
/**
 * Profile: display name and email, avatar, password.
 * @module pages/profile
 */
import { paths } from "../api.js";
import { session } from "../session.js";
import { errorLine, field, h, render, showErrors, toast } from "../ui.js";

/**
 * @param {HTMLFormElement} form
 * @param {HTMLElement} error
 * @param {(data: FormData) => Promise<void>} action
 * @param {Record<string, string>} [inputs] problem types → the input they are about
 */
function onSubmit(form, error, action, inputs = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showErrors(form, error, null);
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    button.disabled = true;
    try {
      await action(new FormData(form));
    } catch (failure) {
      showErrors(form, error, failure, inputs);
    } finally {
      button.disabled = false;
    }
  });
}

export async function show() {
  const user = session.user;
  if (!user) return;
  const avatar = h("img", { class: "avatar", alt: "Your avatar", width: 96, height: 96, hidden: !user.has_avatar, src: user.has_avatar ? `${paths.avatar(user.id)}?${Date.now()}` : false });

  const profileError = errorLine();
  const profile = h("form", { class: "card stack", "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, "Profile"),
    field("Display name", { name: "display_name", required: true, maxlength: 64, value: user.display_name }),
    field("Email", { name: "email", type: "email", required: true, value: user.email }),
    profileError,
    h("button", { type: "submit", class: "primary" }, "Save"));
  onSubmit(profile, profileError, async (data) => {
    await session.api.request(paths.me(), { method: "PATCH", json: { display_name: String(data.get("display_name")).trim(), email: String(data.get("email")).trim() } });
    // The access token carries the display name into meetings: take a fresh one.
    await session.renew();
    await session.reloadUser();
    toast("Profile saved.");
  }, { "email-taken": "email" });

  const avatarError = errorLine();
  const avatarForm = h("form", { class: "card stack", "aria-labelledby": "avatar-title" },
    h("h2", { id: "avatar-title" }, "Avatar"), avatar,
    field("Image (PNG, JPEG or WebP, up to 5 MB)", { name: "file", type: "file", accept: "image/png,image/jpeg,image/webp", required: true }),
    avatarError,
    h("button", { type: "submit", class: "primary" }, "Upload"));
  onSubmit(avatarForm, avatarError, async (data) => {
    const file = data.get("file");
    if (!(file instanceof File) || file.size === 0) throw new Error("Choose an image first.");
    await session.api.request(paths.myAvatar(), { method: "PUT", body: file, headers: { "Content-Type": file.type || "application/octet-stream" } });
    // A fresh access token carries the new avatar's version into the next meeting joined.
    await session.renew();
    await session.reloadUser();
    avatar.src = `${paths.avatar(user.id)}?${Date.now()}`;
    avatar.hidden = false;
    toast("Avatar updated.");
  });

  const passwordError = errorLine();
  const password = h("form", { class: "card stack", "aria-labelledby": "password-title" },
    h("h2", { id: "password-title" }, "Password"),
    field("Current password", { name: "current_password", type: "password", required: true, autocomplete: "current-password" }),
    field("New password (at least 8 characters)", { name: "new_password", type: "password", required: true, minlength: 8, autocomplete: "new-password" }),
    passwordError,
    h("button", { type: "submit", class: "primary" }, "Change password"));
  onSubmit(password, passwordError, async (data) => {
    await session.api.request(paths.myPassword(), { json: { current_password: data.get("current_password"), new_password: data.get("new_password") } });
    password.reset();
    toast("Password changed. Your other sessions were signed out.");
  }, { "wrong-current-password": "current_password", "weak-password": "new_password" });

  render(h("h1", {}, "Your profile"), h("div", { class: "grid-2" }, profile, avatarForm, password));
}
