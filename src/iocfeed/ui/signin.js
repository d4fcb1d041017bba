// Sign-in: the key is tried against GET /ui/session before it is kept, so a bad key is explained
// here (one message per 401 code) and never stored.

import {AUTH_MESSAGES, ApiError, explain, request, storeKey} from "./api.js";
import {h, pageTitle, showError} from "./dom.js";

export function renderSignIn({next, onSignedIn}) {
  const input = h("input", {
    id: "api-key", name: "api-key", type: "password", autocomplete: "off", spellcheck: "false",
    "aria-describedby": "api-key-help api-key-error", required: true,
  });
  const problem = h("p", {id: "api-key-error", class: "field-error"});
  const reveal = h("input", {id: "show-key", type: "checkbox"});
  reveal.addEventListener("change", () => { input.type = reveal.checked ? "text" : "password"; });
  const submit = h("button", {type: "submit"}, "Sign in");

  function fail(message) {
    problem.textContent = message;
    showError(message);
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  const form = h("form", {novalidate: true, "aria-labelledby": "signin-title"},
    h("div", {class: "field"},
      h("label", {for: "api-key"}, "API key"),
      input,
      h("p", {id: "api-key-help", class: "help"},
        "Starts with sk_live_. It stays in this browser tab only (session storage) and is sent to the " +
        "server in an Authorization header; closing the tab forgets it.")),
    h("label", {class: "nowrap"}, reveal, " Show the key while typing"),
    problem,
    h("div", {class: "actions"}, submit));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      fail(AUTH_MESSAGES.missing_api_key);
      return;
    }
    submit.disabled = true;
    try {
      const answer = await (await request("/ui/session", {key})).json();
      storeKey(key);
      input.value = "";
      onSignedIn(answer.data, next);
    } catch (error) {
      fail(error instanceof ApiError ? explain(error) : String(error));
    } finally {
      submit.disabled = false;
    }
  });

  const title = pageTitle("Sign in");
  title.id = "signin-title";
  return h("section", {class: "signin"},
    title,
    h("p", {}, "The console shows what the API shows, with your API key's permissions."),
    form,
    h("p", {class: "help"}, "No key? An operator creates one with ",
      h("code", {}, "iocfeed keys create ACCOUNT --name NAME"), "."));
}
