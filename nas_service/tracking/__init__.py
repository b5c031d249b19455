"""MLflow bookkeeping: one parent run per search, one child run per trial (docs/method.md,
"What is recorded"), by job: the names written (``tags``), what the driver writes
(``records``), the trials' child runs (``trial_callback``), reading a search back (``queries``),
logged models (``models``), a new sqlite store (``new_store``) and the data set's lineage
(``lineage``)."""
