// Progressive enhancement of the wallet step: where the browser has the W3C Digital Credentials
// API, a wallet on this device answers through it. The request comes from the page (an attribute,
// never inline script) and the answer goes back in the page's own form (CSP forbids fetching).
// Without the API, or this script, the same-device link and the QR code still work.
(function () {
  "use strict";
  var box = document.getElementById("dc-api");
  var creds = navigator.credentials;
  if (!box || !creds || !creds.get || typeof window.DigitalCredential === "undefined") return;
  var request;
  try {
    request = JSON.parse(box.getAttribute("data-request"));
  } catch (e) {
    return;
  }
  var start = document.getElementById("dc-start");
  var status = document.getElementById("dc-status");
  var form = document.getElementById("dc-form");
  box.hidden = false;
  start.addEventListener("click", function () {
    start.disabled = true;
    status.textContent = "";
    creds.get({ mediation: "required", digital: request }).then(function (credential) {
      if (!credential || !credential.protocol || credential.data === undefined) throw new Error("no answer");
      var data = credential.data;
      document.getElementById("dc-protocol").value = credential.protocol;
      document.getElementById("dc-data").value = typeof data === "string" ? data : JSON.stringify(data);
      form.submit();
    }).catch(function () {
      status.textContent = status.getAttribute("data-failed");
      start.disabled = false;
    });
  });
})();
