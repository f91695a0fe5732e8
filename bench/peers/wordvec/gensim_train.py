# gensim's side of bench/peers/wordvec/run.sh: Word2Vec with the settings given on the command line
# on a LineSentence corpus; prints one JSON line with the vocabulary and training times.
#   gensim_train.py CORPUS OUT.bin DIM WINDOW NEGATIVE EPOCHS THREADS
import json
import sys
import time

from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence

corpus, out = sys.argv[1], sys.argv[2]
dim, window, negative, epochs, threads = (int(x) for x in sys.argv[3:8])
t0 = time.perf_counter()
m = Word2Vec(sg=1, vector_size=dim, window=window, negative=negative, hs=0, min_count=5,
             sample=1e-3, workers=threads, epochs=epochs, seed=1)
m.build_vocab(corpus_iterable=LineSentence(corpus))
t1, c1 = time.perf_counter(), time.process_time()
m.train(corpus_iterable=LineSentence(corpus), total_examples=m.corpus_count, epochs=epochs)
t2, c2 = time.perf_counter(), time.process_time()
m.wv.save_word2vec_format(out, binary=True)
print(json.dumps({"vocab": len(m.wv), "corpus_words": m.corpus_total_words,
                  "vocab_seconds": t1 - t0, "train_seconds": t2 - t1,
                  "words_per_second": m.corpus_total_words * epochs / (t2 - t1),
                  "train_cpu_seconds": c2 - c1}))
