// Progressive enhancement of the photo form: a camera capture where the browser has one.
// Without this script (or a camera) the file input alone still works.
(function () {
  "use strict";
  var form = document.getElementById("photo-form");
  var media = navigator.mediaDevices;
  if (!form || !media || !media.getUserMedia || typeof DataTransfer === "undefined") return;
  var start = document.getElementById("camera-start");
  var take = document.getElementById("camera-take");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");
  var input = document.getElementById("image");
  var stream = null;
  start.hidden = false;
  start.addEventListener("click", function () {
    media.getUserMedia({ video: { facingMode: "user" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      take.hidden = false;
      start.hidden = true;
      return video.play();
    }).then(function () { take.focus(); }).catch(function () {
      status.textContent = status.getAttribute("data-denied");
    });
  });
  take.addEventListener("click", function () {
    if (!stream || !video.videoWidth) return;
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    stream.getTracks().forEach(function (track) { track.stop(); });
    canvas.toBlob(function (blob) {
      // The photo joins the form's own file input and the form is sent as usual: straight to
      // the evidence route, never kept in the page or the browser's storage.
      var files = new DataTransfer();
      files.items.add(new File([blob], "selfie.png", { type: "image/png" }));
      input.files = files.files;
      form.submit();
    }, "image/png");
  });
}());
