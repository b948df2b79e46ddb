eie_lnzd_node.sv
