// SMART App Launch 2.0 (EHR launch: ?iss=&launch=; standalone launch: ?iss= only) with the SMART
// reference client (fhirclient, window.FHIR): PKCE when the server declares S256, redirect to index.html.
"use strict";
(function () {
  const status = document.getElementById("status");
  function say(text) { status.textContent = text; status.classList.add("error"); }
  if (!window.FHIR) {
    say("The timeline's browser libraries are not installed on this server (static/vendor is missing). " +
        "An administrator runs `rrmm-cds timeline vendor` once after installing the service.");
    return;
  }
  const params = new URLSearchParams(window.location.search);
  if (!params.get("iss") && !params.get("fhirServiceUrl")) {
    say("Open the relapse timeline from the EHR (EHR launch), or add ?iss=<FHIR base URL> to this address " +
        "for a standalone launch.");
    return;
  }
  fetch("config.json", { credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`); return r.json(); })
    .then((config) => FHIR.oauth2.authorize({
      clientId: config.clientId,
      scope: params.get("launch") ? config.scopes.ehr : config.scopes.standalone,
      redirectUri: "index.html",
      pkceMode: "ifSupported",
    }))
    .catch((err) => say(`The launch failed: ${err.message}`));
})();
