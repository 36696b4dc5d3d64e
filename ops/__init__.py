"""Operations entry points that know every component: the cluster set-up job
(``python -m ops.temporal_setup``) and the containers' health check (``python -m ops.healthcheck``)."""
