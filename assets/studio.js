// Focus and scroll on the server's request, without eval (the CSP forbids it, so an event
// handler cannot send code). A page renders one hidden element:
//   <div id="pg-focus-request" data-target="field-topic" data-mode="focus" data-nonce="3">
// and each new nonce asks again: mode "focus" focuses the target (the first invalid field),
// mode "scroll" brings it into view only when it is not already (the form after choosing a
// blueprint; the result on a phone, where it sits below the form).
(function () {
  "use strict";
  var handled = null;

  function visible(element) {
    var box = element.getBoundingClientRect();
    return box.top >= 0 && box.top < window.innerHeight * 0.75;
  }

  function act() {
    var request = document.getElementById("pg-focus-request");
    if (!request) return;
    var nonce = request.getAttribute("data-nonce");
    if (!nonce || nonce === "0" || nonce === handled) return;
    handled = nonce;
    var target = document.getElementById(request.getAttribute("data-target") || "");
    if (!target) return;
    var calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (request.getAttribute("data-mode") === "focus") {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "center", behavior: calm ? "auto" : "smooth" });
    } else if (!visible(target)) {
      target.scrollIntoView({ block: "start", behavior: calm ? "auto" : "smooth" });
    }
  }

  function start() {
    // The element is re-rendered by React: watch the whole page, act after the paint.
    new MutationObserver(function () {
      window.requestAnimationFrame(act);
    }).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-nonce"],
    });
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();

// Arrow keys choose in a radio group (the blueprint and model cards), however quick the tap.
// Radix moves focus in a timer and chooses the newly focused item only if the arrow is still
// held when focus lands; on a busy page (a draft being saved, a slow phone) a quick tap is
// released first, so focus moved but nothing was chosen. Here: an item focused by an arrow
// key pressed in its own group is chosen, unless Radix already clicked it.
(function () {
  "use strict";
  var ARROWS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];
  var arrowGroup = null; // the radio group the last arrow key was pressed in
  var focusedByArrow = null; // the item focused by it, until it is chosen
  var clicked = false;

  document.addEventListener(
    "keydown",
    function (event) {
      var inGroup = event.target.closest && event.target.closest('[role="radiogroup"]');
      arrowGroup = ARROWS.indexOf(event.key) >= 0 && inGroup ? inGroup : null;
    },
    true
  );
  document.addEventListener(
    "click",
    function (event) {
      if (focusedByArrow && focusedByArrow.contains(event.target)) clicked = true;
    },
    true
  );
  document.addEventListener(
    "focusin",
    function (event) {
      var item = event.target;
      if (!arrowGroup || !item.getAttribute || item.getAttribute("role") !== "radio") return;
      if (item.closest('[role="radiogroup"]') !== arrowGroup) return;
      arrowGroup = null;
      focusedByArrow = item;
      clicked = false;
      // After Radix's own focus handler, which clicks when the key is still held.
      window.setTimeout(function () {
        var item = focusedByArrow;
        focusedByArrow = null;
        if (!clicked && item.getAttribute("aria-checked") !== "true" && !item.disabled) {
          item.click();
        }
      }, 0);
    },
    true
  );
})();
