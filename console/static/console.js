// Siyu console: confirmations for forms that change things for good.
(function () {
  'use strict';
  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
      e.preventDefault();
    }
  }, true);
  // A rule tag needs its rule; a manual one none.
  var kind = document.getElementById('tag-kind');
  if (kind) {
    var rule = document.getElementById('tag-rule');
    var sync = function () { rule.hidden = kind.value !== 'rule'; };
    kind.addEventListener('change', sync);
    sync();
  }
})();
