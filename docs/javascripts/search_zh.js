// Chinese search queries, split into words the way the index was.
//
// At build time jieba splits Chinese text into words joined by zero-width spaces (U+200B, part
// of the search separator). A reader types a phrase without spaces, "实验工具包", which as one
// term matches nothing. So the query is split the same way before Material's search reads it:
// the longest words first, taken from the words of the index itself, joined by U+200B (invisible
// in the search box).
(function () {
  const HAN = /[\u3400-\u9fff]/;
  const RUN = /[\u3400-\u9fff]{2,}/g;
  const LONGEST = 8;
  let words = null;

  function loadWords() {
    if (words) return;
    words = new Set();
    const config = JSON.parse(document.getElementById("__config").textContent);
    const index = new URL(config.base + "/search/search_index.json", location.href);
    fetch(index)
      .then((response) => response.json())
      .then((found) => {
        for (const doc of found.docs) {
          for (const word of (doc.title + " " + doc.text).split(/[\s\u200b<>]+/)) {
            if (HAN.test(word) && word.length <= LONGEST) words.add(word);
          }
        }
        // A query typed while the words were loading is split now, and searched again.
        const input = document.querySelector(".md-search__input");
        if (input && input.value) {
          segment({ target: input, isComposing: false });
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }
      })
      .catch(() => {}); // search still works, word by word as typed
  }

  function split(run) {
    const parts = [];
    for (let start = 0; start < run.length; ) {
      let end = Math.min(run.length, start + LONGEST);
      while (end > start + 1 && !words.has(run.slice(start, end))) end--;
      parts.push(run.slice(start, end));
      start = end;
    }
    return parts.join("\u200b");
  }

  function segment(event) {
    const input = event.target;
    if (!input.matches || !input.matches(".md-search__input") || event.isComposing) return;
    loadWords();
    if (!words.size) return;
    const query = input.value.replace(/\u200b/g, "");
    const split_query = query.replace(RUN, split);
    if (split_query === input.value) return;
    const atEnd = input.selectionStart === input.value.length;
    input.value = split_query;
    if (atEnd) input.setSelectionRange(split_query.length, split_query.length);
  }

  // Capturing on the document runs before Material's own listener on the search box.
  document.addEventListener("input", segment, true);
  document.addEventListener("compositionend", segment, true);
  document.addEventListener("focusin", (event) => {
    if (event.target.matches && event.target.matches(".md-search__input")) loadWords();
  });
})();
